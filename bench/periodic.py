"""The bare-Temporal ceiling of `bench.simulate`'s fleet: one no-op activity per monthly period.

Its own module, importing only `temporalio` and the stdlib, so the sandbox cost per workflow
is the minimum Temporal itself needs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_period_noop")
async def period_noop() -> None:
    """Does nothing: the ceiling measures Temporal's cost of one timer and one activity."""


@workflow.defn(name="BenchBarePeriodic")
class BarePeriodicWorkflow:
    """Sleeps until each of ``deadlines`` (ISO instants of the server clock), then runs the no-op."""

    @workflow.run
    async def run(self, deadlines: list[str]) -> int:
        """Return how many periods ran."""
        done = 0
        for deadline in deadlines:
            wait = datetime.fromisoformat(deadline) - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            await workflow.execute_activity(period_noop, start_to_close_timeout=timedelta(seconds=30))
            done += 1
        return done

"""The bare-Temporal ceiling of the lifecycle benchmark: an entity whose Update runs one no-op activity.

Its own module, importing only `temporalio`, so the sandbox cost per workflow is the
minimum Temporal itself needs (GUIDE §3: what a workflow module imports dominates memory).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Does nothing: the ceiling measures Temporal's cost of one activity, not work."""


@workflow.defn(name="BenchBareEntity")
class BareEntityWorkflow:
    """Waits until told to finish; each ``touch`` Update runs one no-op activity."""

    @workflow.init
    def __init__(self) -> None:
        self._touched = 0
        self._finish = False

    @workflow.run
    async def run(self) -> int:
        """Live until ``finish``; returns how often it was touched."""
        await workflow.wait_condition(lambda: self._finish)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._touched

    @workflow.update
    async def touch(self) -> int:
        """Run the no-op activity; returns the touch count."""
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
        self._touched += 1
        return self._touched

    @workflow.query
    def touched(self) -> int:
        """How often it was touched (also proves the first workflow task ran)."""
        return self._touched

    @workflow.signal
    def finish(self) -> None:
        """End the run."""
        self._finish = True

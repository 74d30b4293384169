"""The daily usage roll-up (SPEC §4): one short workflow per run, started by a Schedule.

The Schedule (`worker.schedules`, id `tenure-usage-rollup`) starts it every day at 00:15
UTC, and `tenure usage rollup` triggers the same Schedule on demand. The work is one
idempotent activity (`rollup_usage`): which days to recompute is decided from the database
(events received since the last run), so a run started twice, retried or late still leaves
the same table.
"""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from billing.usage import UtcDatetime

# A first roll-up reads every event once; later ones only the days touched since the last.
ROLLUP_TIMEOUT = timedelta(minutes=15)
ROLLUP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=2))


class RollupRequest(BaseModel):
    """What a roll-up run is asked: ``full`` recomputes every day ever seen."""

    model_config = ConfigDict(frozen=True)

    full: bool = False


class RollupJob(RollupRequest):
    """The activity's input: the request and the run's id (the roll-up record's key)."""

    run_id: str


class RollupResult(BaseModel):
    """What a run recomputed; ``started_at`` is the "as of" of the numbers it wrote."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    started_at: UtcDatetime
    finished_at: UtcDatetime
    since: UtcDatetime | None
    first_day: date | None
    last_day: date | None
    days: int
    events: int


@workflow.defn(name="UsageRollup")
class UsageRollupWorkflow:
    """Aggregate usage per workspace per UTC day, recording the run."""

    @workflow.run
    async def run(self, request: RollupRequest) -> RollupResult:
        """Run the roll-up activity once (retried until the database answers)."""
        job = RollupJob(full=request.full, run_id=workflow.info().workflow_id)
        result: RollupResult = await workflow.execute_activity(
            "rollup_usage",
            job,
            result_type=RollupResult,
            start_to_close_timeout=ROLLUP_TIMEOUT,
            retry_policy=ROLLUP_RETRY,
        )
        return result

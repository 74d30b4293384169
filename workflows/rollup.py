"""The daily usage roll-up (SPEC §4): one short workflow per run, started by a Schedule.

The Schedule (`worker.schedules`, id `tenure-usage-rollup`) starts it every day at 00:15
UTC, and `tenure usage rollup` triggers the same Schedule on demand. The work is one
idempotent activity (`rollup_usage`): which days to recompute is decided from the database
(events received since the last run), so a run started twice, retried or late still leaves
the same table.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as refs
    from contracts.usage import RollupJob, RollupResult
    from workflows import calls


class RollupRequest(BaseModel):
    """What a roll-up run is asked: ``full`` recomputes every day ever seen."""

    model_config = ConfigDict(frozen=True)

    full: bool = False


@workflow.defn(name="UsageRollup")
class UsageRollupWorkflow:
    """Aggregate usage per workspace per UTC day, recording the run."""

    @workflow.run
    async def run(self, request: RollupRequest) -> RollupResult:
        """Run the roll-up activity once (retried until the database answers)."""
        job = RollupJob(full=request.full, run_id=workflow.info().workflow_id)
        return await calls.run(refs.ROLLUP_USAGE, job)

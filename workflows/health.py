"""A short workflow that proves Temporal, a polling worker and the database work together."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy


@workflow.defn(name="WorkerHealth")
class WorkerHealthWorkflow:
    """Runs one `database_ping` activity; `/healthz?deep=true` starts it."""

    @workflow.run
    async def run(self) -> str:
        """Return the database version the worker sees."""
        version: str = await workflow.execute_activity(
            "database_ping",
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(maximum_attempts=1),
            result_type=str,
        )
        return version

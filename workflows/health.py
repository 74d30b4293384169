"""A short workflow that proves Temporal, a polling worker and the database work together."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as refs
    from workflows import calls


@workflow.defn(name="WorkerHealth")
class WorkerHealthWorkflow:
    """Runs one `database_ping` activity; `/healthz?deep=true` starts it."""

    @workflow.run
    async def run(self) -> str:
        """Return the database version the worker sees."""
        return await calls.run(refs.DATABASE_PING, None)

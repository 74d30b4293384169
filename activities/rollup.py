"""The daily usage roll-up's activity (SPEC §4): one SQL statement, safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts import activities as refs
from contracts.usage import RollupJob, RollupResult
from db import rollup_repo

# How long an ingestion transaction may stay open: events it stores carry its start time.
ROLLUP_OVERLAP = timedelta(hours=1)


class RollupActivities:
    """Built with the session factory of the worker's composition root."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], overlap: timedelta = ROLLUP_OVERLAP
    ) -> None:
        self._sessions = sessions
        self._overlap = overlap

    @activity.defn(name=refs.ROLLUP_USAGE.name)
    async def rollup_usage(self, job: RollupJob) -> RollupResult:
        """Recompute the days with new events (all days if ``job.full``), record the run.

        One transaction: a retry after a failure starts over, a retry after a commit whose
        answer was lost recomputes the same numbers and rewrites the same run row.
        """
        async with self._sessions.begin() as session:
            run = await rollup_repo.roll_up(session, job.run_id, full=job.full, overlap=self._overlap)
        return RollupResult(
            run_id=run.run_id,
            started_at=run.started_at,
            finished_at=run.finished_at,
            since=run.since,
            first_day=run.first_day,
            last_day=run.last_day,
            days=run.days,
            events=run.events,
        )

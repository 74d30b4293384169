"""Usage reads the workflow needs to close in-arrears periods and contracts."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from contracts import activities as refs
from contracts.usage import UsageWindow, UsageWindowTotals
from db import usage_repo


class UsageActivities:
    """Built with the session factory of the worker's composition root."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=refs.USAGE_TOTALS.name)
    async def usage_totals(self, windows: list[UsageWindow]) -> list[UsageWindowTotals]:
        """Exact totals per window, read in one transaction (a consistent snapshot)."""
        found: list[UsageWindowTotals] = []
        async with self._sessions.begin() as session:
            for window in windows:
                credits, minutes = await usage_repo.window_totals(
                    session, window.workspace_id, window.start, window.end
                )
                found.append(
                    UsageWindowTotals(
                        start=window.start, end=window.end, credits=credits, serverless_minutes=minutes
                    )
                )
        return found

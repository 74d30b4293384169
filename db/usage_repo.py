"""Usage queries. The caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.usage_models import UsageEventRow


async def window_totals(
    session: AsyncSession, workspace_id: str, start: datetime, end: datetime
) -> tuple[int, int]:
    """Exact (credits, serverless minutes) of events with ``start <= at < end``."""
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(UsageEventRow.credits), 0),
                func.coalesce(func.sum(UsageEventRow.serverless_minutes), 0),
            ).where(
                UsageEventRow.workspace_id == workspace_id,
                UsageEventRow.at >= start,
                UsageEventRow.at < end,
            )
        )
    ).one()
    return int(row[0]), int(row[1])

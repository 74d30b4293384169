"""Usage queries. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.usage import CreditRules, ServerlessMinutes, UsageEvent, credit_cost
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


async def add_events(
    session: AsyncSession, workspace_id: str, events: Sequence[UsageEvent], rules: CreditRules
) -> int:
    """Store ``events`` with their credits priced by ``rules`` at ingestion (SPEC §4).

    Idempotent: an event id already stored for the workspace is skipped, so a replayed
    batch counts once. Returns how many events were new.
    """
    if not events:
        return 0
    rows = [
        {
            "workspace_id": workspace_id,
            "event_id": e.id,
            "kind": e.kind,
            "at": e.at,
            "credits": credit_cost(e, rules),
            "serverless_minutes": e.minutes if isinstance(e, ServerlessMinutes) else 0,
            "payload": e.model_dump(mode="json"),
        }
        for e in events
    ]
    statement = insert(UsageEventRow).values(rows).on_conflict_do_nothing().returning(UsageEventRow.event_id)
    return len((await session.execute(statement)).all())

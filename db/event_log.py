"""SQL over the outbound event log: append in the caller's transaction, read by cursor.

The caller owns the transaction, and appends in the same one as the change the events
report. ``append`` takes a transaction-level advisory lock, held to the commit, so the
global ``seq`` order is the commit order: a consumer that stored the last ``seq`` it read
never misses an event that committed later with a smaller ``seq``. The lock is short (the
rest of one decision's transaction) and keeps per-workspace sequences gapless.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Final

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events import EVENTS_API_VERSION, EventOut, NewEvent, event_id
from db.event_models import EventRow

# Any fixed 64-bit key: it names the event log's append lock among the database's advisory locks.
_APPEND_LOCK: Final = 7_346_221_509


async def append(session: AsyncSession, events: Sequence[NewEvent]) -> list[EventOut]:
    """Append ``events`` in order; one already appended (same workspace and source key) is skipped.

    Returns:
        The events that are new, as consumers will read them.
    """
    if not events:
        return []
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK})
    new: list[EventOut] = []
    for ws in dict.fromkeys(e.workspace_id for e in events):
        mine = [e for e in events if e.workspace_id == ws]
        known = set(
            await session.scalars(
                select(EventRow.source_key).where(
                    EventRow.workspace_id == ws, EventRow.source_key.in_({e.source_key for e in mine})
                )
            )
        )
        last = await session.scalar(
            select(func.coalesce(func.max(EventRow.workspace_seq), 0)).where(EventRow.workspace_id == ws)
        )
        sequence = int(last or 0)
        rows = []
        for e in mine:
            if e.source_key in known:
                continue
            known.add(e.source_key)  # the same key twice in one call is one event
            sequence += 1
            rows.append(
                {
                    "id": event_id(ws, e.source_key),
                    "workspace_id": ws,
                    "workspace_seq": sequence,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "api_version": EVENTS_API_VERSION,
                    "source_key": e.source_key,
                    "payload": dict(e.payload),
                }
            )
        if rows:
            await session.execute(insert(EventRow).values(rows))
            new += [_out_of_values(r) for r in rows]
    return new


def _out_of_values(values: dict[str, object]) -> EventOut:
    return EventOut.model_validate({**values, "sequence": values["workspace_seq"]})


def out(row: EventRow) -> EventOut:
    """The event as consumers read it."""
    return EventOut(
        id=row.id,
        type=row.type,
        workspace_id=row.workspace_id,
        sequence=row.workspace_seq,
        occurred_at=row.occurred_at,
        api_version=row.api_version,
        payload=row.payload,
    )


async def get(session: AsyncSession, id_: str) -> EventRow | None:
    """The event with public id ``id_``."""
    row: EventRow | None = await session.scalar(select(EventRow).where(EventRow.id == id_))
    return row


async def after(
    session: AsyncSession,
    seq: int,
    limit: int,
    workspace_id: str | None = None,
    types: Collection[str] = (),
) -> list[EventRow]:
    """Up to ``limit`` events with a global ``seq`` above ``seq``, oldest first."""
    query = select(EventRow).where(EventRow.seq > seq)
    if workspace_id is not None:
        query = query.where(EventRow.workspace_id == workspace_id)
    if types:
        query = query.where(EventRow.type.in_(list(types)))
    return list(await session.scalars(query.order_by(EventRow.seq).limit(limit)))

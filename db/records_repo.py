"""SQL over the subscription's records: timeline, audit log, outbox, seat ledger, projection.

The caller owns the transaction. Each insert is keyed by a business key that the caller
derives from business ids, so a retried activity inserts nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.subscription_models import AuditLogRow, EmailOutboxRow, SubscriptionEventRow, SubscriptionRow
from db.workspace_models import SeatLedgerRow

Values = Mapping[str, Any]


async def insert_events(session: AsyncSession, rows: Sequence[Values]) -> int:
    """Append timeline rows; a ``(workspace_id, dedupe_key)`` already present is skipped.

    Returns:
        How many rows were new.
    """
    if not rows:
        return 0
    stmt = (
        insert(SubscriptionEventRow)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["workspace_id", "dedupe_key"])
        .returning(SubscriptionEventRow.id)
    )
    return len((await session.execute(stmt)).all())


async def _insert_once(session: AsyncSession, model: Any, values: Values, keys: list[str]) -> bool:
    stmt = insert(model).values(dict(values)).on_conflict_do_nothing(index_elements=keys).returning(model.id)
    return (await session.execute(stmt)).first() is not None


async def insert_audit(session: AsyncSession, values: Values) -> bool:
    """Append an audit row once per ``(workspace_id, request_id)``; True when new."""
    return await _insert_once(session, AuditLogRow, values, ["workspace_id", "request_id"])


async def insert_outbox(session: AsyncSession, values: Values) -> bool:
    """Enqueue an email once per ``idempotency_key``; True when new."""
    return await _insert_once(session, EmailOutboxRow, values, ["idempotency_key"])


async def insert_seat_entry(session: AsyncSession, values: Values) -> bool:
    """Append a seat ledger row once per ``(workspace_id, entry_key)``; True when new."""
    return await _insert_once(session, SeatLedgerRow, values, ["workspace_id", "entry_key"])


async def upsert_subscription(session: AsyncSession, values: Values) -> bool:
    """Write the projection unless the stored one has the same or a newer ``version``.

    Returns:
        True when this projection is now the stored one.
    """
    stmt = insert(SubscriptionRow).values(dict(values))
    columns = {c: stmt.excluded[c] for c in values if c != "workspace_id"}
    upsert = stmt.on_conflict_do_update(
        index_elements=["workspace_id"],
        set_=columns,
        # Stale retries and out-of-order attempts lose: only a newer version overwrites.
        where=SubscriptionRow.version < stmt.excluded.version,
    ).returning(SubscriptionRow.workspace_id)
    return (await session.execute(upsert)).first() is not None


async def stored_subscription(session: AsyncSession, workspace_id: str) -> dict[str, Any] | None:
    """The projection stored now, as column values (None: the workspace has none yet)."""
    row = await session.get(SubscriptionRow, workspace_id)
    if row is None:
        return None
    return {c.key: getattr(row, c.key) for c in SubscriptionRow.__table__.columns}

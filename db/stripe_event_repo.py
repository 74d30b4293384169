"""SQL over the Stripe events received by the webhook. The caller owns the transaction.

The event id is the primary key: a redelivered event inserts nothing. An event is stored
``received`` (on its way to its invoice's workflow) and becomes ``applied`` once the workflow
took it, ``ignored`` when it concerns nothing of ours, ``failed`` when Temporal refused it for
good. ``received`` is the pending state: the redelivery and the periodic re-drive send those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import StripeEventRow

Values = Mapping[str, Any]
PENDING = "received"
# Done with: a redelivery of these is a duplicate, acknowledged and nothing else.
SETTLED = frozenset({"applied", "ignored"})


@dataclass(frozen=True)
class StoredEvent:
    """An event stored but not yet taken by its workflow."""

    id: str
    type: str
    payload: dict[str, Any]


async def insert_stripe_event(
    session: AsyncSession, event_id: str, event_type: str, payload: Values, status: str = PENDING
) -> bool:
    """Store a webhook event once; False when its id was already stored (a redelivery)."""
    stmt = (
        insert(StripeEventRow)
        .values(id=event_id, type=event_type, payload=dict(payload), status=status)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEventRow.id)
    )
    return (await session.execute(stmt)).first() is not None


async def stripe_event_status(session: AsyncSession, event_id: str) -> str | None:
    """The stored event's status (None: not stored)."""
    stmt = select(StripeEventRow.status).where(StripeEventRow.id == event_id)
    status: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return status


async def set_stripe_event_status(
    session: AsyncSession, event_id: str, status: str, error: str | None = None
) -> None:
    """Record what applying an event did (``applied``, ``ignored``, ``failed``, or still
    ``received`` with the reason it could not be delivered yet). ``applied`` stays: two
    deliveries of one event may race, and the later one finds the workflow closed by the first."""
    await session.execute(
        update(StripeEventRow)
        .where(StripeEventRow.id == event_id, StripeEventRow.status != "applied")
        .values(status=status, error=error)
    )


async def pending_stripe_events(
    session: AsyncSession, older_than: timedelta, limit: int
) -> Sequence[StoredEvent]:
    """Events still ``received`` at least ``older_than`` after they were stored (by the
    database's clock, the one that stamped them), oldest first."""
    stmt = (
        select(StripeEventRow.id, StripeEventRow.type, StripeEventRow.payload)
        .where(StripeEventRow.status == PENDING)
        .where(StripeEventRow.received_at <= func.now() - older_than)
        .order_by(StripeEventRow.received_at)
        .limit(limit)
    )
    return [StoredEvent(r.id, r.type, r.payload) for r in await session.execute(stmt)]

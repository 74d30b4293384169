"""SQL over the Stripe events received by the webhook. The caller owns the transaction.

The event id is the primary key: a redelivered event inserts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import StripeEventRow

Values = Mapping[str, Any]


async def insert_stripe_event(session: AsyncSession, event_id: str, event_type: str, payload: Values) -> bool:
    """Store a webhook event once; False when its id was already stored (a redelivery)."""
    stmt = (
        insert(StripeEventRow)
        .values(id=event_id, type=event_type, payload=dict(payload))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(StripeEventRow.id)
    )
    return (await session.execute(stmt)).first() is not None


async def set_stripe_event_status(
    session: AsyncSession, event_id: str, status: str, error: str | None = None
) -> None:
    """Record what applying an event did (``applied``, ``ignored`` or ``failed``)."""
    await session.execute(
        update(StripeEventRow).where(StripeEventRow.id == event_id).values(status=status, error=error)
    )

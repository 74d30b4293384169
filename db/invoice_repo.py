"""SQL over invoices, Stripe events and billing profiles. The caller owns the transaction.

Inserts are keyed by business ids (invoice number, Stripe event id, Stripe tax id), so a
retried activity inserts nothing new; updates set values, so running one twice is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import BillingProfileRow, InvoiceLineRow, InvoiceRow, StripeEventRow, TaxIdRow
from db.workspace_models import WorkspaceRow

Values = Mapping[str, Any]


async def insert_invoice(session: AsyncSession, invoice: Values, lines: Sequence[Values]) -> bool:
    """Insert an invoice and its lines unless the number exists; True when new."""
    stmt = insert(InvoiceRow).values(dict(invoice)).on_conflict_do_nothing(index_elements=["number"])
    if (await session.execute(stmt.returning(InvoiceRow.number))).first() is None:
        return False
    if lines:
        await session.execute(insert(InvoiceLineRow).values([dict(v) for v in lines]))
    return True


async def lock_invoice(session: AsyncSession, number: str) -> InvoiceRow | None:
    """The invoice, locked until the transaction ends (steps of one invoice never interleave)."""
    return await session.get(InvoiceRow, number, with_for_update=True, populate_existing=True)


async def invoice_lines(session: AsyncSession, number: str) -> list[InvoiceLineRow]:
    """The lines in posted order."""
    rows = await session.scalars(
        select(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_number == number)
        .order_by(InvoiceLineRow.position)
    )
    return list(rows)


async def update_invoice(session: AsyncSession, number: str, values: Values) -> None:
    await session.execute(update(InvoiceRow).where(InvoiceRow.number == number).values(dict(values)))


async def set_line_item(session: AsyncSession, number: str, position: int, item_id: str) -> None:
    """Remember the Stripe invoice item of a line (the push continues after it next time)."""
    await session.execute(
        update(InvoiceLineRow)
        .where(InvoiceLineRow.invoice_number == number, InvoiceLineRow.position == position)
        .values(stripe_invoice_item_id=item_id)
    )


async def invoice_by_stripe_id(session: AsyncSession, stripe_invoice_id: str) -> InvoiceRow | None:
    """The invoice a Stripe invoice id (from a webhook) belongs to."""
    found: InvoiceRow | None = await session.scalar(
        select(InvoiceRow).where(InvoiceRow.stripe_invoice_id == stripe_invoice_id)
    )
    return found


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


async def lock_profile(session: AsyncSession, workspace_id: str) -> BillingProfileRow:
    """The workspace's billing profile, created empty if missing, locked for the transaction.

    The lock serialises customer creation per workspace: two invoices pushed at once
    must not create two Stripe customers.
    """
    await session.execute(
        insert(BillingProfileRow).values(workspace_id=workspace_id).on_conflict_do_nothing()
    )
    row = await session.get(BillingProfileRow, workspace_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


async def read_profile(session: AsyncSession, workspace_id: str) -> BillingProfileRow:
    """The workspace's billing profile for reading: no lock, nothing written (a workspace
    without one reads as the empty profile `lock_profile` would create)."""
    row = await session.get(BillingProfileRow, workspace_id)
    return (
        row if row is not None else BillingProfileRow(workspace_id=workspace_id, purchasing_as_business=False)
    )


async def update_profile(session: AsyncSession, workspace_id: str, values: Values) -> None:
    await session.execute(
        update(BillingProfileRow).where(BillingProfileRow.workspace_id == workspace_id).values(dict(values))
    )


async def billing_contact(session: AsyncSession, workspace_id: str) -> str | None:
    """The workspace's billing contact: the one home is its billing profile."""
    found: str | None = await session.scalar(
        select(BillingProfileRow.billing_email).where(BillingProfileRow.workspace_id == workspace_id)
    )
    return found


async def tax_ids(session: AsyncSession, workspace_id: str) -> list[TaxIdRow]:
    rows = await session.scalars(
        select(TaxIdRow).where(TaxIdRow.workspace_id == workspace_id).order_by(TaxIdRow.created_at)
    )
    return list(rows)


async def upsert_tax_id(session: AsyncSession, values: Values) -> None:
    stmt = insert(TaxIdRow).values(dict(values))
    excluded = {k: stmt.excluded[k] for k in values if k != "stripe_tax_id"}
    await session.execute(stmt.on_conflict_do_update(index_elements=["stripe_tax_id"], set_=excluded))


async def delete_tax_ids(session: AsyncSession, workspace_id: str, keep: Sequence[str] | None = None) -> None:
    """Delete the workspace's tax ids except ``keep`` (all of them when ``keep`` is None)."""
    stmt = delete(TaxIdRow).where(TaxIdRow.workspace_id == workspace_id)
    if keep is not None:
        stmt = stmt.where(TaxIdRow.stripe_tax_id.not_in(list(keep)))
    await session.execute(stmt)


async def delete_tax_id(session: AsyncSession, workspace_id: str, stripe_tax_id: str) -> None:
    await session.execute(
        delete(TaxIdRow).where(TaxIdRow.workspace_id == workspace_id, TaxIdRow.stripe_tax_id == stripe_tax_id)
    )


async def workspace_invoices(session: AsyncSession, workspace_id: str, limit: int = 100) -> list[InvoiceRow]:
    """The workspace's invoices, newest first."""
    rows = await session.scalars(
        select(InvoiceRow)
        .where(InvoiceRow.workspace_id == workspace_id)
        .order_by(InvoiceRow.issued_at.desc(), InvoiceRow.number.desc())
        .limit(limit)
    )
    return list(rows)


async def workspace_exists(session: AsyncSession, workspace_id: str) -> bool:
    found = await session.scalar(select(WorkspaceRow.id).where(WorkspaceRow.id == workspace_id))
    return found is not None

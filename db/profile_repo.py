"""SQL over a workspace's billing profile (contact, company, Stripe customer, card) and its
tax-id mirror. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import BillingProfileRow, TaxIdRow

Values = Mapping[str, Any]


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

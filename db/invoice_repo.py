"""SQL over invoices and their lines. The caller owns the transaction.

Inserts are keyed by business ids (the invoice number), so a
retried activity inserts nothing new; updates set values, so running one twice is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import InvoiceLineRow, InvoiceRow

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


async def workspace_invoices(session: AsyncSession, workspace_id: str, limit: int = 100) -> list[InvoiceRow]:
    """The workspace's invoices, newest first."""
    rows = await session.scalars(
        select(InvoiceRow)
        .where(InvoiceRow.workspace_id == workspace_id)
        .order_by(InvoiceRow.issued_at.desc(), InvoiceRow.number.desc())
        .limit(limit)
    )
    return list(rows)

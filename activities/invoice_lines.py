"""An invoice line on its way to Stripe: stored as a row (with its item), sent as an item;
and an invoice's public events (`billing.events`) when its status moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.records import publish
from billing.events import invoice_event, invoice_moves
from billing.invoicing.invoices import InvoiceLine
from contracts.payments import NewStripeInvoiceItem
from db.invoice_models import InvoiceLineRow, InvoiceRow


def invoice_shown(row: InvoiceRow) -> dict[str, Any]:
    """The invoice as its public events show it (the engine's status: unpaid, overdue, paid, void)."""
    return {
        "number": row.number,
        "status": row.status,
        "total": row.total,
        "currency": row.currency,
        "issued_at": row.issued_at,
        "period_start": row.period_start,
        "period_end": row.period_end,
        "attempt_count": row.attempt_count,
        "hosted_invoice_url": row.hosted_invoice_url,
        "invoice_pdf": row.invoice_pdf,
        "paid_at": row.paid_at,
        "voided_at": row.voided_at,
    }


async def publish_moves(
    session: AsyncSession, row: InvoiceRow, before: str | None, at: datetime | None
) -> None:
    """Append the public events of ``row``'s status move from ``before`` (None: just posted).

    ``row`` is the invoice after the move. A move's instant is the invoice's own (paid or
    voided at, else ``at``, else its issue), never a worker's clock: it is the same on a retry.
    """
    events = []
    for move in invoice_moves(before, row.status):
        when = {"posted": row.issued_at, "paid": row.paid_at, "voided": row.voided_at}.get(move)
        events.append(invoice_event(move, invoice_shown(row), when or at or row.issued_at))
    await publish(session, row.workspace_id, events)


async def publish_failure(session: AsyncSession, row: InvoiceRow, attempt: int, at: datetime) -> None:
    """Append ``invoice.payment_failed`` for the declined ``attempt`` (once per attempt)."""
    await publish(
        session, row.workspace_id, [invoice_event("payment_failed", invoice_shown(row), at, attempt)]
    )


def line_values(line: InvoiceLine) -> dict[str, Any]:
    """The row of a posted line: its fields, and what it charges (`LineItem`) as columns."""
    item = line.item
    return {
        **line.model_dump(exclude={"item"}),
        "item_kind": item.kind if item else None,
        "item_code": item.code if item else None,
        "item_cycle": item.cycle if item else None,
    }


def stripe_item(line: InvoiceLineRow, customer: str, invoice_id: str, currency: str) -> NewStripeInvoiceItem:
    """The Stripe invoice item of a stored line: quantity and unit amount only where they
    give exactly the line's amount (a merged or rounded line is sent as its amount)."""
    whole = line.quantity >= 1 and line.quantity * line.unit_amount == line.amount
    return NewStripeInvoiceItem(
        number=line.invoice_number,
        position=line.position,
        customer_id=customer,
        invoice_id=invoice_id,
        amount=line.amount,
        currency=currency,
        description=line.description,
        period_start=line.period_start,
        period_end=line.period_end,
        quantity=line.quantity if whole else None,
        unit_amount=line.unit_amount if whole else None,
        item_kind=line.item_kind,
        item_code=line.item_code,
        item_cycle=line.item_cycle,
    )

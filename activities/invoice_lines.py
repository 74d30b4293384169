"""An invoice line on its way to Stripe: stored as a row (with its item), sent as an item."""

from __future__ import annotations

from typing import Any

from billing.invoicing.invoices import InvoiceLine
from contracts.payments import NewStripeInvoiceItem
from db.invoice_models import InvoiceLineRow


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

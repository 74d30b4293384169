"""Posting an invoice: the accrued adjustments, the credit balance, numbering.

One rule for every invoice (both policies): charges plus the accrued adjustments, then
the carried credit balance. A negative total posts a zero invoice whose
``credit_balance`` line moves the rest into the balance for the next invoice. An
invoice with no charge or adjustment line is not posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from billing.catalog import Catalog
from billing.changes import evolve
from billing.decision import Outcome, event
from billing.effects import Effect, PostInvoice
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine, InvoiceRef, LineItem, line
from billing.periods import Period
from billing.state import INVOICES_KEPT, BillingState


def post_invoice(
    state: BillingState,
    catalog: Catalog,
    at: datetime,
    period: Period,
    charges: Sequence[InvoiceLine],
    *,
    with_accrued: bool = True,
    posted_at: datetime | None = None,
) -> Outcome:
    """Post ``charges`` (plus the accrued adjustments) as one invoice issued at ``at``.

    Args:
        posted_at: when it is posted (the ``invoice_posted`` event), if later than its
            issue: a draft posted when its window ends (`billing.invoicing.drafts`).

    Returns:
        The state with the accrued lines consumed, the balance updated and the invoice
        recorded, and the `PostInvoice` + ``invoice_posted`` effects (none when there is
        no line at all).
    """
    lines = [*charges, *(state.accrued if with_accrued else ())]
    state = evolve(state, accrued=()) if with_accrued else state
    if not lines:
        return Outcome(state, [])
    subtotal = sum(item.amount for item in lines)
    raw = subtotal - state.credit_balance
    balance_line, new_balance = (-state.credit_balance, 0) if raw >= 0 else (-subtotal, -raw)
    if balance_line:
        balance = LineItem(kind="credit_balance")
        lines.append(line("credit_balance", balance, "credit balance", 1, balance_line, period))
    total = subtotal + balance_line
    number = f"{state.workspace_id}-{state.invoice_seq + 1:05d}"
    draft = InvoiceDraft(
        number=number,
        issued_at=at,
        period_start=period.start,
        period_end=period.end,
        currency=catalog.currency,
        lines=tuple(lines),
        total=total,
    )
    ref = InvoiceRef(
        number=number,
        issued_at=at,
        total=total,
        status="paid" if total == 0 else "unpaid",
        overdue_at=at + timedelta(days=catalog.dunning.overdue_after_days),
    )
    state = evolve(
        state,
        credit_balance=new_balance,
        invoice_seq=state.invoice_seq + 1,
        invoices=_keep((*state.invoices, ref)),
    )
    effects: list[Effect] = [
        PostInvoice(invoice=draft),
        event("invoice_posted", posted_at or at, number=number, total=total, lines=len(lines)),
    ]
    return Outcome(state, effects)


def _keep(invoices: tuple[InvoiceRef, ...]) -> tuple[InvoiceRef, ...]:
    """The newest invoices, plus any older one still owed (dunning needs it)."""
    cutoff = len(invoices) - INVOICES_KEPT
    return tuple(ref for i, ref in enumerate(invoices) if i >= cutoff or ref.status in {"unpaid", "overdue"})

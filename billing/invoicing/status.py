"""How an invoice's status may move: paid and void are final, Stripe's word settles conflicts."""

from __future__ import annotations

from billing.invoicing.invoices import InvoiceStatus

_MOVES: frozenset[tuple[InvoiceStatus, InvoiceStatus]] = frozenset(
    {("unpaid", "overdue"), ("unpaid", "paid"), ("overdue", "paid"), ("unpaid", "void"), ("overdue", "void")}
)


def moved(ours: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus:
    """The status after asking for ``target``: paid and void are final, overdue only follows
    unpaid; anything else leaves ``ours`` (so a replayed or late request changes nothing)."""
    return target if (ours, target) in _MOVES else ours


def reconciled(ours: InvoiceStatus, stripe_status: str) -> InvoiceStatus:
    """Our status given Stripe's (the answer to webhooks arriving out of order).

    Stripe's ``paid`` always wins over unpaid/overdue: money was collected. ``void`` ends an
    unpaid invoice. ``draft``/``open``/``uncollectible`` say nothing about due dates, so
    unpaid vs overdue stays ours.
    """
    if stripe_status == "paid":
        return moved(ours, "paid")
    if stripe_status == "void":
        return moved(ours, "void")
    return ours

"""Invoice status facts and dunning (SPEC §1.4, §3).

Payment is attempted when an invoice is posted and again ``retry_days`` after issue; an
invoice unpaid ``overdue_after_days`` after issue is Overdue and the subscription
``past_due``. When the last attempt fails, the catalog's ``final_failure`` applies:
``revert_to_free`` (the Overdue invoice stays owed) or ``past_due`` until paid.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from billing.catalog import Catalog
from billing.changes import evolve
from billing.decision import Decision, Outcome, event
from billing.effects import Effect, SendEmail
from billing.errors import INVOICE_NOT_FOUND, DomainError
from billing.invoicing.invoices import InvoiceRef, InvoiceStatus
from billing.revert import end_paid_life
from billing.state import PAID_STATUSES, BillingState

InvoiceEvent = Literal["paid", "payment_failed", "overdue", "voided", "final_failure"]


def dunning_schedule(issued_at: datetime, catalog: Catalog) -> list[datetime]:
    """Instants of the payment retries after the first attempt at ``issued_at``."""
    return [issued_at + timedelta(days=d) for d in catalog.dunning.retry_days]


def next_retry(ref: InvoiceRef, catalog: Catalog, at: datetime) -> datetime | None:
    """The next payment attempt of an unpaid invoice after ``at``, if one is left."""
    return next((r for r in dunning_schedule(ref.issued_at, catalog) if r > at), None)


def overdue_at(issued_at: datetime, catalog: Catalog) -> datetime:
    """When an invoice issued at ``issued_at`` becomes Overdue if still unpaid."""
    return issued_at + timedelta(days=catalog.dunning.overdue_after_days)


def receipt(ref: InvoiceRef, catalog: Catalog, at: datetime) -> SendEmail:
    """The receipt of a paid invoice (the relay adds the Stripe PDF and hosted page links)."""
    data: dict[str, str | int | None] = {
        "number": ref.number,
        "total": ref.total,
        "currency": catalog.currency,
        "paid_at": at.isoformat(),
    }
    return SendEmail(at=at, template="receipt", to_role="billing_contact", data=data)


def _find(state: BillingState, number: str) -> InvoiceRef:
    for ref in state.invoices:
        if ref.number == number:
            return ref
    raise DomainError(INVOICE_NOT_FOUND, f"no invoice {number!r}", {"invoice": number})


def _with_status(state: BillingState, number: str, status: InvoiceStatus) -> BillingState:
    invoices = tuple(evolve(ref, status=status) if ref.number == number else ref for ref in state.invoices)
    return evolve(state, invoices=invoices)


def _settle_status(state: BillingState) -> BillingState:
    """Leave ``past_due`` once no invoice is overdue any more."""
    if state.status != "past_due" or any(r.status == "overdue" for r in state.invoices):
        return state
    return evolve(state, status="canceling" if state.cancel_at else "active")


def mark_overdue(state: BillingState, number: str, at: datetime) -> Outcome:
    """An unpaid invoice passed its due instant: Overdue, and the subscription past_due."""
    if _find(state, number).status != "unpaid":
        return Outcome(state, [])
    state = _with_status(state, number, "overdue")
    if state.status in PAID_STATUSES:
        state = evolve(state, status="past_due")
    effects: list[Effect] = [
        event("invoice_overdue", at, number=number),
        SendEmail(at=at, template="invoice_overdue", to_role="billing_contact", data={"number": number}),
    ]
    return Outcome(state, effects)


def on_invoice_event(
    state: BillingState, invoice_number: str, event_kind: InvoiceEvent, at: datetime, catalog: Catalog
) -> Decision:
    """Apply a collection fact (from Stripe webhooks or the payment activity).

    Repeating a fact changes nothing (a paid invoice stays paid without new effects).

    Raises:
        DomainError: ``invoice_not_found``.
    """
    ref = _find(state, invoice_number)
    effects: list[Effect] = []
    if event_kind in {"paid", "voided"}:
        target: InvoiceStatus = "paid" if event_kind == "paid" else "void"
        if ref.status in {"paid", "void"}:
            return Decision(state=state, effects=[])
        state = _settle_status(_with_status(state, invoice_number, target))
        name = "invoice_paid" if event_kind == "paid" else "invoice_voided"
        effects = [event(name, at, number=invoice_number)]
        if event_kind == "paid" and ref.total > 0:
            effects.append(receipt(ref, catalog, at))
        return Decision(state=state, effects=effects)
    if ref.status in {"paid", "void"}:
        return Decision(state=state, effects=[])
    if event_kind == "payment_failed":
        invoices = tuple(
            evolve(r, payment_failed_at=at) if r.number == invoice_number else r for r in state.invoices
        )
        state = evolve(state, invoices=invoices)
        retry = next_retry(ref, catalog, at)
        effects = [
            event("payment_failed", at, number=invoice_number),
            SendEmail(
                at=at,
                template="payment_failed",
                to_role="billing_contact",
                # None: no attempt is left (the e-mail then asks to pay by hand).
                data={"number": invoice_number, "next_retry_at": retry.isoformat() if retry else None},
            ),
        ]
        return Decision(state=state, effects=effects)
    state, effects = mark_overdue(state, invoice_number, at).state_and_effects()
    if event_kind == "final_failure":
        effects.append(event("payment_final_failure", at, number=invoice_number))
        if catalog.dunning.final_failure == "revert_to_free" and state.status in PAID_STATUSES:
            ended = end_paid_life(state, catalog, at, "payment_failed")
            state, effects = ended.state, effects + ended.effects
        elif state.status in PAID_STATUSES:
            state = evolve(state, status="past_due")
    return Decision(state=state, effects=effects)

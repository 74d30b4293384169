"""Invoice status facts and dunning (SPEC §1.4, §3).

Payment is attempted when an invoice is posted and again ``retry_days`` after issue; an
invoice unpaid ``overdue_after_days`` after issue is Overdue and the subscription
``past_due``. When the last attempt fails, the catalog's ``final_failure`` applies:
``revert_to_free`` (the Overdue invoice stays owed) or ``past_due`` until paid.

A failed attempt carries its code (Stripe's ``decline_code``, else its error ``code``:
``insufficient_funds``, ``expired_card``, ``incorrect_cvc``...), recorded in the timeline.
Most follow the retry schedule. ``authentication_required`` (3-D Secure) does not: charging
the same card off-session again fails the same way, so the invoice waits for the customer to
authenticate on its hosted page (the overview and a ``payment_action_required`` e-mail say
so); the schedule's instants only re-read the invoice, and the final rule still applies at
the last one.
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

# Declines that a retry of the same card cannot lift: only the customer can (Stripe's
# ``authentication_required``: the issuer wants 3-D Secure, impossible off-session).
CUSTOMER_ACTION_CODES = frozenset({"authentication_required"})


def needs_customer_action(code: str | None) -> bool:
    """Whether a payment that failed with ``code`` waits for the customer, not for a retry."""
    return code in CUSTOMER_ACTION_CODES


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


def _failed(
    state: BillingState, ref: InvoiceRef, at: datetime, catalog: Catalog, code: str | None, url: str | None
) -> Decision:
    """A failed attempt: its code in the timeline and the state, and the e-mail it calls for."""
    action = needs_customer_action(code)
    failed = evolve(ref, payment_failed_at=at, decline_code=code, action_required=action, action_url=url)
    state = evolve(state, invoices=tuple(failed if r.number == ref.number else r for r in state.invoices))
    recorded = event("payment_failed", at, number=ref.number, code=code) if code else None
    effects: list[Effect] = [recorded or event("payment_failed", at, number=ref.number)]
    if action:
        # The relay adds the hosted page from the invoices table when we do not know it yet.
        data: dict[str, str | int | None] = {"number": ref.number, "code": code}
        if url:
            data["hosted_invoice_url"] = url
        effects.append(
            SendEmail(at=at, template="payment_action_required", to_role="billing_contact", data=data)
        )
        return Decision(state=state, effects=effects)
    retry = next_retry(ref, catalog, at)
    effects.append(
        SendEmail(
            at=at,
            template="payment_failed",
            to_role="billing_contact",
            # None: no attempt is left (the e-mail then asks to pay by hand).
            data={"number": ref.number, "next_retry_at": retry.isoformat() if retry else None},
        )
    )
    return Decision(state=state, effects=effects)


def on_invoice_event(
    state: BillingState,
    invoice_number: str,
    event_kind: InvoiceEvent,
    at: datetime,
    catalog: Catalog,
    code: str | None = None,
    action_url: str | None = None,
) -> Decision:
    """Apply a collection fact (from Stripe webhooks or the payment activity).

    Repeating a fact changes nothing (a paid invoice stays paid without new effects).
    ``code`` and ``action_url`` come with ``payment_failed``: the decline code and the
    invoice's hosted page.

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
        return _failed(state, ref, at, catalog, code, action_url)
    state, effects = mark_overdue(state, invoice_number, at).state_and_effects()
    if event_kind == "final_failure":
        effects.append(event("payment_final_failure", at, number=invoice_number))
        if catalog.dunning.final_failure == "revert_to_free" and state.status in PAID_STATUSES:
            ended = end_paid_life(state, catalog, at, "payment_failed")
            state, effects = ended.state, effects + ended.effects
        elif state.status in PAID_STATUSES:
            state = evolve(state, status="past_due")
    return Decision(state=state, effects=effects)

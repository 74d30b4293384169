"""Invoice state transitions: finalize, pay, void, mark uncollectible.

The machine is Stripe's: draft -> open -> paid | void | uncollectible, and
uncollectible -> paid | void. A declined payment leaves the invoice ``open``,
emits ``invoice.payment_failed`` and answers 402 with the card's ``code`` and
``decline_code`` and the invoice's PaymentIntent, like real Stripe. A card that needs
3-D Secure (``authentication_required``) also emits ``invoice.payment_action_required``
and leaves the PaymentIntent ``requires_action``: the customer authenticates on the
hosted invoice page.
"""

from __future__ import annotations

from devstack.stripe_emulator.errors import StripeError, invalid_request
from devstack.stripe_emulator.resources.invoices import get_invoice, invoice_json, invoice_total
from devstack.stripe_emulator.resources.payment_methods import decline_error, resolve_payment_method
from devstack.stripe_emulator.routing import ApiRoute, Call, route
from devstack.stripe_emulator.state import JSON, Invoice, PaymentMethod, new_id, now

_DAY = 86_400


def _wrong_state(invoice: Invoice, action: str) -> StripeError:
    return invalid_request(
        f"You cannot {action} this invoice because it is {invoice.status}.",
        code="invoice_not_editable" if invoice.status == "draft" else None,
    )


def _mark_paid(call: Call, invoice: Invoice, *, out_of_band: bool = False) -> None:
    invoice.status = "paid"
    invoice.amount_paid = invoice_total(call.state, invoice)
    invoice.paid_out_of_band = out_of_band
    invoice.paid_at = now()
    body = invoice_json(call.state, invoice)
    # Stripe sends both; consumers should listen to invoice.paid.
    call.emit("invoice.paid", body)
    call.emit("invoice.payment_succeeded", body)


def finalize(call: Call, invoice: Invoice) -> None:
    """Move a draft to ``open`` (or straight to ``paid`` when the total is zero).

    Args:
        call: the request.
        invoice: a draft invoice.
    """
    state = call.state
    state.invoice_sequence += 1
    invoice.number = f"{call.settings.invoice_number_prefix}-{state.invoice_sequence:06d}"
    invoice.status = "open"
    invoice.finalized_at = now()
    if invoice.collection_method == "send_invoice" and invoice.due_date is None:
        invoice.due_date = invoice.finalized_at + _DAY * (invoice.days_until_due or 0)
    base = call.public_url
    invoice.hosted_invoice_url = f"{base}/hosted/invoices/{invoice.id}"
    invoice.invoice_pdf = f"{base}/hosted/invoices/{invoice.id}/pdf"
    call.emit("invoice.finalized", invoice_json(state, invoice))
    if invoice_total(state, invoice) == 0:
        _mark_paid(call, invoice)


def finalize_invoice(call: Call) -> JSON:
    """``POST /v1/invoices/{invoice}/finalize``."""
    call.params.only("auto_advance")
    invoice = get_invoice(call)
    if invoice.status != "draft":
        raise invalid_request("This invoice is already finalized, you can't re-finalize a non-draft invoice.")
    auto_advance = call.params.boolean("auto_advance")
    if auto_advance is not None:
        invoice.auto_advance = auto_advance
    finalize(call, invoice)
    return invoice_json(call.state, invoice)


def _payment_method(call: Call, invoice: Invoice) -> PaymentMethod:
    pm_id = call.params.string("payment_method")
    if pm_id:
        pm = resolve_payment_method(call.state, pm_id, param="payment_method")
        if pm.customer not in (None, invoice.customer):
            raise invalid_request(
                f"The PaymentMethod {pm_id} does not belong to the invoice's customer.",
                param="payment_method",
            )
        return pm
    customer = call.state.customers[invoice.customer]
    default = invoice.default_payment_method or customer.default_payment_method
    if default is None or default not in call.state.payment_methods:
        raise invalid_request(
            "This customer has no attached payment source or default payment method. "
            "Please consider adding a default payment method.",
        )
    return call.state.payment_methods[default]


def pay_invoice(call: Call) -> JSON:
    """``POST /v1/invoices/{invoice}/pay`` (``off_session``, ``payment_method``...)."""
    p = call.params
    p.only("off_session", "payment_method", "paid_out_of_band", "forgive")
    p.boolean("off_session")
    p.boolean("forgive")
    invoice = get_invoice(call)
    if invoice.status == "paid":
        raise invalid_request("Invoice is already paid.")
    if invoice.status == "void":
        raise _wrong_state(invoice, "pay")
    if p.boolean("paid_out_of_band"):
        if invoice.status == "draft":
            finalize(call, invoice)
        if invoice.status != "paid":
            _mark_paid(call, invoice, out_of_band=True)
        return invoice_json(call.state, invoice)
    # Resolve the card before finalizing so a missing card leaves a draft untouched.
    pm = _payment_method(call, invoice)
    if invoice.status == "draft":
        # Stripe finalizes a draft as the first step of paying it.
        finalize(call, invoice)
        if invoice.status == "paid":
            return invoice_json(call.state, invoice)
    invoice.attempt_count += 1
    if pm.card.decline_at_charge:
        raise _declined(call, invoice, pm)
    _mark_paid(call, invoice)
    return invoice_json(call.state, invoice)


def _declined(call: Call, invoice: Invoice, pm: PaymentMethod) -> StripeError:
    """Record a failed charge of ``invoice`` and return the 402 to raise."""
    decline = pm.card.charge_decline
    assert decline is not None
    body = invoice_json(call.state, invoice)
    call.emit("invoice.payment_failed", body)
    if decline.requires_action:
        call.emit("invoice.payment_action_required", body)
    error = decline_error(pm)
    intent: JSON = {
        "id": new_id("pi", 24),
        "object": "payment_intent",
        "amount": invoice_total(call.state, invoice),
        "currency": invoice.currency,
        "customer": invoice.customer,
        "livemode": False,
        "payment_method": pm.id,
        "status": "requires_action" if decline.requires_action else "requires_payment_method",
        "next_action": {"type": "use_stripe_sdk", "use_stripe_sdk": {}} if decline.requires_action else None,
        "last_payment_error": error.payload(),
    }
    return decline_error(pm, {"payment_intent": intent})


def void_invoice(call: Call) -> JSON:
    """``POST /v1/invoices/{invoice}/void``: open or uncollectible -> void."""
    call.params.only()
    invoice = get_invoice(call)
    if invoice.status not in ("open", "uncollectible"):
        raise _wrong_state(invoice, "void")
    invoice.status = "void"
    invoice.voided_at = now()
    body = invoice_json(call.state, invoice)
    call.emit("invoice.voided", body)
    return body


def mark_uncollectible(call: Call) -> JSON:
    """``POST /v1/invoices/{invoice}/mark_uncollectible``: open -> uncollectible."""
    call.params.only()
    invoice = get_invoice(call)
    if invoice.status != "open":
        raise _wrong_state(invoice, "mark uncollectible")
    invoice.status = "uncollectible"
    invoice.marked_uncollectible_at = now()
    body = invoice_json(call.state, invoice)
    call.emit("invoice.marked_uncollectible", body)
    return body


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/invoices/{invoice}/finalize", finalize_invoice),
    route("POST", "/v1/invoices/{invoice}/pay", pay_invoice),
    route("POST", "/v1/invoices/{invoice}/void", void_invoice),
    route("POST", "/v1/invoices/{invoice}/mark_uncollectible", mark_uncollectible),
]

"""``/v1/payment_methods``: attach, detach, list, retrieve; magic test ids.

Only Stripe's magic test ids create payment methods (raw card numbers are refused
by real Stripe by default, so tests must not rely on them either).
"""

from __future__ import annotations

import hashlib
import time

from devstack.stripe_emulator.errors import StripeError, invalid_request, no_such
from devstack.stripe_emulator.routing import ApiRoute, Call, paginate, route
from devstack.stripe_emulator.state import JSON, Decline, EmulatorState, MagicCard, PaymentMethod, new_id, now

GENERIC = Decline("card_declined", "generic_decline", "Your card was declined.")
INSUFFICIENT_FUNDS = Decline("card_declined", "insufficient_funds", "Your card has insufficient funds.")
# Stripe's table: these two codes are their own reason, with no decline_code.
EXPIRED_CARD = Decline("expired_card", None, "Your card has expired.")
INCORRECT_CVC = Decline("incorrect_cvc", None, "Your card's security code is incorrect.")
AUTHENTICATION_REQUIRED = Decline(
    "authentication_required",
    "authentication_required",
    "Your card was declined. This transaction requires authentication.",
    requires_action=True,
)

# Stripe's test-card table (docs.stripe.com/testing): the decline cards (0002, 9995, 0069,
# 0127) "can't be attached to a Customer object"; 0341 attaches and then fails every charge;
# 3184 attaches and requires 3-D Secure on every payment, so an off-session charge fails
# with authentication_required and the customer must authenticate on the hosted page;
# 3155 asks for authentication when it is set up, then charges off-session without it.
MAGIC_CARDS: dict[str, MagicCard] = {
    "pm_card_visa": MagicCard("4242", "visa", decline_at_attach=False, charge_decline=None),
    "pm_card_visa_chargeDeclined": MagicCard("0002", "visa", decline_at_attach=True, charge_decline=GENERIC),
    "pm_card_chargeCustomerFail": MagicCard("0341", "visa", decline_at_attach=False, charge_decline=GENERIC),
    "pm_card_visa_chargeDeclinedInsufficientFunds": MagicCard(
        "9995", "visa", decline_at_attach=True, charge_decline=INSUFFICIENT_FUNDS
    ),
    "pm_card_chargeDeclinedExpiredCard": MagicCard(
        "0069", "visa", decline_at_attach=True, charge_decline=EXPIRED_CARD
    ),
    "pm_card_chargeDeclinedIncorrectCvc": MagicCard(
        "0127", "visa", decline_at_attach=True, charge_decline=INCORRECT_CVC
    ),
    "pm_card_authenticationRequiredOnSetup": MagicCard(
        "3155", "visa", decline_at_attach=False, charge_decline=None, authenticate_on_setup=True
    ),
    "pm_card_authenticationRequired": MagicCard(
        "3184", "visa", decline_at_attach=False, charge_decline=AUTHENTICATION_REQUIRED
    ),
}


def payment_method_json(pm: PaymentMethod) -> JSON:
    """Return the endive wire shape of a card payment method."""
    fingerprint = hashlib.sha256(pm.card.number_last4.encode()).hexdigest()[:16]
    return {
        "id": pm.id,
        "object": "payment_method",
        "allow_redisplay": "unspecified",
        "billing_details": {
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": None,
                "state": None,
            },
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "card": {
            "brand": pm.card.brand,
            "checks": {
                "address_line1_check": None,
                "address_postal_code_check": None,
                "cvc_check": "pass",
            },
            "country": "US",
            "display_brand": pm.card.brand,
            "exp_month": pm.exp_month,
            "exp_year": pm.exp_year,
            "fingerprint": fingerprint,
            "funding": "credit",
            "generated_from": None,
            "last4": pm.card.number_last4,
            "networks": {"available": [pm.card.brand], "preferred": None},
            "regulated_status": "unregulated",
            "three_d_secure_usage": {"supported": True},
            "wallet": None,
        },
        "created": pm.created,
        "customer": pm.customer,
        "customer_account": None,
        "livemode": False,
        "metadata": dict(pm.metadata),
        "type": "card",
    }


def resolve_payment_method(
    state: EmulatorState, pm_id: str, *, param: str, in_path: bool = False
) -> PaymentMethod:
    """Turn a magic id into a fresh payment method, or look up a stored one.

    Args:
        state: the emulator state.
        pm_id: ``pm_card_*`` magic id or an id returned earlier.
        param: parameter that named it (for the error).
        in_path: True when the id came from the URL.

    Returns:
        The payment method (stored in the state).

    Raises:
        StripeError: unknown id.
    """
    card = MAGIC_CARDS.get(pm_id)
    if card is not None:
        pm = PaymentMethod(
            id=new_id("pm", 24),
            created=now(),
            card=card,
            exp_month=12,
            exp_year=time.gmtime().tm_year + 3,
        )
        state.payment_methods[pm.id] = pm
        return pm
    found = state.payment_methods.get(pm_id)
    if found is None:
        raise no_such("PaymentMethod", pm_id, param=param, in_path=in_path)
    return found


def decline_error(pm: PaymentMethod, extra: JSON | None = None) -> StripeError:
    """Return the 402 ``card_error`` real Stripe answers when this card is declined.

    Args:
        pm: the declined card.
        extra: more error fields (the ``payment_intent`` of an invoice payment...).
    """
    decline = pm.card.charge_decline or GENERIC
    return StripeError(
        402,
        "card_error",
        decline.message,
        code=decline.code,
        decline_code=decline.decline_code,
        extra={"payment_method": payment_method_json(pm), **(extra or {})},
    )


def attach(call: Call, pm: PaymentMethod, customer_id: str) -> JSON:
    """Attach ``pm`` to a customer, or raise a decline for 0002 cards.

    Args:
        call: the request (for the event).
        pm: the payment method.
        customer_id: the customer it goes to.

    Returns:
        The payment method JSON after attaching.
    """
    if pm.card.decline_at_attach:
        # The failed attach leaves nothing behind, as on Stripe.
        call.state.payment_methods.pop(pm.id, None)
        raise decline_error(pm)
    if pm.customer is not None and pm.customer != customer_id:
        raise invalid_request(
            "The payment method you provided has already been attached to a customer.",
            code="payment_method_unexpected_state",
        )
    if pm.customer == customer_id:
        return payment_method_json(pm)
    pm.customer = customer_id
    body = payment_method_json(pm)
    call.emit("payment_method.attached", body)
    return body


def attach_payment_method(call: Call) -> JSON:
    """``POST /v1/payment_methods/{payment_method}/attach``."""
    call.params.only("customer")
    customer_id = call.params.string("customer", required=True) or ""
    if call.state.live_customer(customer_id) is None:
        raise no_such("customer", customer_id, param="customer", in_path=False)
    pm = resolve_payment_method(call.state, call.path["payment_method"], param="payment_method", in_path=True)
    return attach(call, pm, customer_id)


def detach_payment_method(call: Call) -> JSON:
    """``POST /v1/payment_methods/{payment_method}/detach``."""
    call.params.only()
    pm = call.state.payment_methods.get(call.path["payment_method"])
    if pm is None:
        raise no_such("PaymentMethod", call.path["payment_method"])
    if pm.customer is None:
        raise invalid_request(
            "The payment method you provided is not attached to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    customer = call.state.customers.get(pm.customer)
    if customer is not None and customer.default_payment_method == pm.id:
        # A detached card cannot stay the invoice default.
        customer.default_payment_method = None
    pm.customer = None
    body = payment_method_json(pm)
    call.emit("payment_method.detached", body)
    return body


def retrieve_payment_method(call: Call) -> JSON:
    """``GET /v1/payment_methods/{payment_method}``."""
    pm = call.state.payment_methods.get(call.path["payment_method"])
    if pm is None:
        raise no_such("PaymentMethod", call.path["payment_method"])
    return payment_method_json(pm)


def list_payment_methods(call: Call) -> JSON:
    """``GET /v1/payment_methods?customer=...&type=card``."""
    call.params.only("customer", "type", "limit", "starting_after", "ending_before")
    customer_id = call.params.string("customer", required=True) or ""
    if call.state.live_customer(customer_id) is None:
        raise no_such("customer", customer_id, param="customer", in_path=False)
    kind = call.params.string("type")
    items = [
        pm
        for pm in reversed(call.state.payment_methods.values())
        if pm.customer == customer_id and kind in (None, "card")
    ]
    return paginate(call, items, "/v1/payment_methods", payment_method_json, lambda p: p.id)


ROUTES: list[ApiRoute] = [
    route("GET", "/v1/payment_methods", list_payment_methods),
    route("GET", "/v1/payment_methods/{payment_method}", retrieve_payment_method),
    route("POST", "/v1/payment_methods/{payment_method}/attach", attach_payment_method),
    route("POST", "/v1/payment_methods/{payment_method}/detach", detach_payment_method),
]

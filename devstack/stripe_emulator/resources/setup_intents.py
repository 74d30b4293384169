"""``/v1/setup_intents``: create, retrieve, confirm (attaching the card, as Stripe does)."""

from __future__ import annotations

from devstack.stripe_emulator.errors import StripeError, invalid_request, no_such
from devstack.stripe_emulator.params import apply_metadata
from devstack.stripe_emulator.resources.payment_methods import (
    attach,
    decline_error,
    resolve_payment_method,
)
from devstack.stripe_emulator.routing import ApiRoute, Call, route
from devstack.stripe_emulator.state import JSON, PaymentMethod, SetupIntent, new_id, now


def setup_intent_json(si: SetupIntent) -> JSON:
    """Return the endive wire shape of a SetupIntent."""
    return {
        "id": si.id,
        "object": "setup_intent",
        "allowed_payment_method_types": list(si.payment_method_types),
        "application": None,
        "automatic_payment_methods": None,
        "cancellation_reason": None,
        "client_secret": si.client_secret,
        "created": si.created,
        "customer": si.customer,
        "customer_account": None,
        "description": si.description,
        "excluded_payment_method_types": None,
        "flow_directions": None,
        "last_setup_error": si.last_setup_error,
        "latest_attempt": None,
        "livemode": False,
        "mandate": None,
        "metadata": dict(si.metadata),
        "next_action": si.next_action,
        "on_behalf_of": None,
        "payment_method": si.payment_method,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {"mandate_options": None, "network": None, "request_three_d_secure": "automatic"}
        },
        "payment_method_types": list(si.payment_method_types),
        "single_use_mandate": None,
        "status": si.status,
        "usage": si.usage,
    }


def _get(call: Call) -> SetupIntent:
    si = call.state.setup_intents.get(call.path["intent"])
    if si is None:
        raise no_such("setup_intent", call.path["intent"])
    return si


def confirm(call: Call, si: SetupIntent, pm_id: str | None) -> JSON:
    if si.status == "succeeded":
        raise invalid_request(
            "You cannot confirm this SetupIntent because it has already succeeded.",
            code="setup_intent_unexpected_state",
        )
    pm_id = pm_id or si.payment_method
    if pm_id is None:
        raise invalid_request(
            "You cannot confirm this SetupIntent because it's missing a payment method. "
            "Update the SetupIntent with a payment method and then confirm it again.",
            code="setup_intent_unexpected_state",
        )
    pm = resolve_payment_method(call.state, pm_id, param="payment_method")
    si.payment_method = pm.id
    if pm.card.decline_at_attach:
        error: StripeError = decline_error(pm)
        si.status = "requires_payment_method"
        si.last_setup_error = error.payload()
        si.payment_method = None
        call.state.payment_methods.pop(pm.id, None)
        body = setup_intent_json(si)
        call.emit("setup_intent.setup_failed", body)
        error.extra["setup_intent"] = body
        raise error
    if pm.card.authenticate_on_setup:
        # As Stripe: the card waits for 3-D Secure, attached only once authenticated.
        si.status = "requires_action"
        si.next_action = {"type": "use_stripe_sdk", "use_stripe_sdk": {"type": "three_d_secure_redirect"}}
        body = setup_intent_json(si)
        call.emit("setup_intent.requires_action", body)
        return body
    return _succeed(call, si, pm)


def _succeed(call: Call, si: SetupIntent, pm: PaymentMethod) -> JSON:
    if si.customer is not None:
        attach(call, pm, si.customer)
    si.status = "succeeded"
    si.last_setup_error = None
    si.next_action = None
    body = setup_intent_json(si)
    call.emit("setup_intent.succeeded", body)
    return body


def authenticate(call: Call, si: SetupIntent, *, passed: bool) -> JSON:
    """The customer's answer to 3-D Secure (the emulator's test-card page asks it): passed,
    the card is attached and the SetupIntent succeeds; failed, it needs another card.

    Raises:
        StripeError: the SetupIntent is not waiting for authentication.
    """
    if si.status != "requires_action" or si.payment_method is None:
        raise invalid_request(
            f"This SetupIntent is {si.status}: it is not waiting for authentication.",
            code="setup_intent_unexpected_state",
        )
    pm = call.state.payment_methods[si.payment_method]
    if passed:
        return _succeed(call, si, pm)
    si.status = "requires_payment_method"
    si.payment_method = None
    si.next_action = None
    si.last_setup_error = {
        "type": "invalid_request_error",
        "code": "setup_intent_authentication_failure",
        "message": "We are unable to authenticate your payment method. Please choose a different "
        "payment method and try again.",
    }
    body = setup_intent_json(si)
    call.emit("setup_intent.setup_failed", body)
    return body


def create_setup_intent(call: Call) -> JSON:
    """``POST /v1/setup_intents`` (``confirm=true`` confirms immediately)."""
    p = call.params
    p.only(
        "allowed_payment_method_types",
        "customer",
        "usage",
        "payment_method_types",
        "payment_method",
        "confirm",
        "description",
        "metadata",
    )
    customer_id = p.string("customer")
    if customer_id is not None and call.state.live_customer(customer_id) is None:
        raise no_such("customer", customer_id, param="customer", in_path=False)
    # endive's SDK sends ``allowed_payment_method_types``; older code sends
    # ``payment_method_types``. Both mean the same here.
    types = p.str_list("allowed_payment_method_types") or p.str_list("payment_method_types") or ["card"]
    if types != ["card"]:
        raise invalid_request(
            "The Tenure Stripe emulator only supports card setup intents.",
            param="allowed_payment_method_types",
        )
    si_id = new_id("seti", 24)
    si = SetupIntent(
        id=si_id,
        created=now(),
        client_secret=f"{si_id}_secret_{new_id('x', 24)[2:]}",
        customer=customer_id,
        usage=p.choice("usage", ("off_session", "on_session")) or "off_session",
        payment_method_types=types,
        description=p.string("description"),
        metadata=apply_metadata({}, p.metadata()),
    )
    pm_id = p.string("payment_method")
    if pm_id is not None and not p.boolean("confirm"):
        si.payment_method = resolve_payment_method(call.state, pm_id, param="payment_method").id
        si.status = "requires_confirmation"
    call.state.setup_intents[si.id] = si
    body = setup_intent_json(si)
    call.emit("setup_intent.created", body)
    if p.boolean("confirm"):
        return confirm(call, si, pm_id)
    return body


def confirm_setup_intent(call: Call) -> JSON:
    """``POST /v1/setup_intents/{intent}/confirm``."""
    call.params.only("payment_method")
    return confirm(call, _get(call), call.params.string("payment_method"))


def retrieve_setup_intent(call: Call) -> JSON:
    """``GET /v1/setup_intents/{intent}``."""
    return setup_intent_json(_get(call))


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/setup_intents", create_setup_intent),
    route("GET", "/v1/setup_intents/{intent}", retrieve_setup_intent),
    route("POST", "/v1/setup_intents/{intent}/confirm", confirm_setup_intent),
]

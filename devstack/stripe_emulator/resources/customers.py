"""``/v1/customers``: create, retrieve, update, delete, list."""

from __future__ import annotations

from devstack.stripe_emulator.errors import invalid_request, no_such
from devstack.stripe_emulator.params import Params, Unset, apply_metadata, sub_str
from devstack.stripe_emulator.routing import ApiRoute, Call, paginate, route
from devstack.stripe_emulator.state import JSON, Customer, EmulatorState, new_id, now

_ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
_WRITABLE = ("email", "name", "business_name", "description", "phone", "address", "metadata")


def customer_json(customer: Customer) -> JSON:
    """Return the endive wire shape of a customer (or of a deleted one)."""
    if customer.deleted:
        return {"id": customer.id, "object": "customer", "deleted": True}
    return {
        "id": customer.id,
        "object": "customer",
        "address": customer.address,
        "balance": 0,
        "business_name": customer.business_name,
        "created": customer.created,
        "currency": None,
        "customer_account": None,
        "default_source": None,
        "delinquent": False,
        "description": customer.description,
        "discount": None,
        "email": customer.email,
        "individual_name": None,
        "invoice_prefix": customer.id[4:12].upper(),
        "invoice_settings": {
            "custom_fields": None,
            "default_payment_method": customer.default_payment_method,
            "footer": None,
            "rendering_options": None,
        },
        "livemode": False,
        "metadata": dict(customer.metadata),
        "name": customer.name,
        "next_invoice_sequence": 1,
        "phone": customer.phone,
        "preferred_locales": [],
        "shipping": None,
        "tax_exempt": "none",
        "test_clock": None,
    }


def get_customer(
    state: EmulatorState, customer_id: str, *, param: str = "id", in_path: bool = True
) -> Customer:
    """Return a live customer or raise Stripe's ``resource_missing``.

    Args:
        state: the emulator state.
        customer_id: the id to look up.
        param: parameter that named it (for the error).
        in_path: True when the id came from the URL (404), else 400.

    Returns:
        The customer.
    """
    customer = state.live_customer(customer_id)
    if customer is None:
        raise no_such("customer", customer_id, param=param, in_path=in_path)
    return customer


def _address(params: Params) -> JSON | Unset | None:
    value = params.hash("address")
    if value is None or isinstance(value, Unset):
        return value
    for key in value:
        if key not in _ADDRESS_FIELDS:
            raise invalid_request(
                f"Received unknown parameter: address[{key}]",
                param=f"address[{key}]",
                code="parameter_unknown",
            )
    return {key: sub_str(value, key, f"address[{key}]") for key in _ADDRESS_FIELDS}


def _apply_fields(customer: Customer, params: Params) -> None:
    for name in ("email", "name", "business_name", "description", "phone"):
        if params.has(name):
            value = params.string(name)
            setattr(customer, name, value or None)
    address = _address(params)
    if isinstance(address, Unset):
        customer.address = None
    elif address is not None:
        customer.address = address
    customer.metadata = apply_metadata(customer.metadata, params.metadata())


def _apply_invoice_settings(call: Call, customer: Customer) -> None:
    settings = call.params.hash("invoice_settings")
    if settings is None:
        return
    if isinstance(settings, Unset):
        customer.default_payment_method = None
        return
    for key in settings:
        if key != "default_payment_method":
            raise invalid_request(
                f"Received unknown parameter: invoice_settings[{key}] (not implemented by "
                "the Tenure Stripe emulator)",
                param=f"invoice_settings[{key}]",
                code="parameter_unknown",
            )
    if "default_payment_method" not in settings:
        return
    param = "invoice_settings[default_payment_method]"
    pm_id = sub_str(settings, "default_payment_method", param)
    if pm_id is None:
        customer.default_payment_method = None
        return
    pm = call.state.payment_methods.get(pm_id)
    if pm is None:
        raise no_such("PaymentMethod", pm_id, param=param, in_path=False)
    if pm.customer != customer.id:
        raise invalid_request(
            f"The customer does not have a payment method with the ID {pm_id}. The payment "
            "method must be attached to the customer.",
            param=param,
        )
    customer.default_payment_method = pm_id


def create_customer(call: Call) -> JSON:
    """``POST /v1/customers``."""
    call.params.only(*_WRITABLE)
    customer = Customer(id=new_id("cus"), created=now())
    _apply_fields(customer, call.params)
    call.state.customers[customer.id] = customer
    body = customer_json(customer)
    call.emit("customer.created", body)
    return body


def retrieve_customer(call: Call) -> JSON:
    """``GET /v1/customers/{customer}`` (a deleted customer answers ``deleted: true``)."""
    customer = call.state.customers.get(call.path["customer"])
    if customer is None:
        raise no_such("customer", call.path["customer"])
    return customer_json(customer)


def update_customer(call: Call) -> JSON:
    """``POST /v1/customers/{customer}``."""
    call.params.only(*_WRITABLE, "invoice_settings")
    customer = get_customer(call.state, call.path["customer"])
    before = customer_json(customer)
    _apply_fields(customer, call.params)
    _apply_invoice_settings(call, customer)
    after = customer_json(customer)
    previous: JSON = {k: v for k, v in before.items() if after.get(k) != v}
    if previous:
        call.emit("customer.updated", after, previous)
    return after


def delete_customer(call: Call) -> JSON:
    """``DELETE /v1/customers/{customer}``: detaches its payment methods too."""
    customer = get_customer(call.state, call.path["customer"])
    snapshot = customer_json(customer)
    customer.deleted = True
    for pm in call.state.payment_methods.values():
        if pm.customer == customer.id:
            pm.customer = None
    call.emit("customer.deleted", snapshot)
    return customer_json(customer)


def list_customers(call: Call) -> JSON:
    """``GET /v1/customers`` with optional ``email`` filter."""
    call.params.only("email", "limit", "starting_after", "ending_before")
    email = call.params.string("email")
    items = [
        c
        for c in reversed(call.state.customers.values())
        if not c.deleted and (email is None or c.email == email)
    ]
    return paginate(call, items, "/v1/customers", customer_json, lambda c: c.id)


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/customers", create_customer),
    route("GET", "/v1/customers", list_customers),
    route("GET", "/v1/customers/{customer}", retrieve_customer),
    route("POST", "/v1/customers/{customer}", update_customer),
    route("DELETE", "/v1/customers/{customer}", delete_customer),
]

"""Payment methods (magic test ids, declines at attach) and SetupIntents."""

from __future__ import annotations

import pytest
import stripe

from tests.integration.stripe_emulator.helpers import error_payload, event_types


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create({"email": "pm@x.test"})


@pytest.mark.parametrize(
    ("magic", "last4"), [("pm_card_visa", "4242"), ("pm_card_chargeCustomerFail", "0341")]
)
def test_attach_magic_id_creates_new_card(
    client: stripe.StripeClient, customer: stripe.Customer, magic: str, last4: str
) -> None:
    pm = client.v1.payment_methods.attach(magic, {"customer": customer.id})
    assert isinstance(pm, stripe.PaymentMethod)
    assert pm.id.startswith("pm_")
    assert pm.id != magic
    assert pm.customer == customer.id
    assert pm.type == "card"
    assert pm.card is not None
    assert (pm.card.brand, pm.card.last4, pm.card.exp_month) == ("visa", last4, 12)
    assert pm.card.exp_year >= 2026
    assert client.v1.payment_methods.retrieve(pm.id).customer == customer.id


def test_attach_declined_card_is_402_and_leaves_nothing(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_methods.attach("pm_card_visa_chargeDeclined", {"customer": customer.id})
    err = excinfo.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.error is not None
    assert err.error.decline_code == "generic_decline"
    assert err.json_body is not None
    assert error_payload(err)["type"] == "card_error"
    listed = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert listed.data == []
    assert "payment_method.attached" not in event_types(client)


def test_list_detach_and_default_is_cleared(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    first = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    second = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    client.v1.customers.update(customer.id, {"invoice_settings": {"default_payment_method": first.id}})
    listed = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [pm.id for pm in listed.data] == [second.id, first.id]
    assert all(isinstance(pm, stripe.PaymentMethod) for pm in listed.data)

    detached = client.v1.payment_methods.detach(first.id)
    assert detached.customer is None
    remaining = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [pm.id for pm in remaining.data] == [second.id]
    refreshed = client.v1.customers.retrieve(customer.id)
    assert refreshed.invoice_settings is not None
    assert refreshed.invoice_settings.default_payment_method is None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.detach(first.id)
    assert event_types(client).count("payment_method.attached") == 2
    assert event_types(client).count("payment_method.detached") == 1


def test_attach_to_unknown_customer_is_400(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.payment_methods.attach("pm_card_visa", {"customer": "cus_nope"})
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "customer"
    assert excinfo.value.code == "resource_missing"


def test_card_already_attached_elsewhere_is_refused(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    other = client.v1.customers.create({"email": "other@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": customer.id})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_methods.attach(pm.id, {"customer": other.id})


def test_setup_intent_confirm_succeeds_and_attaches(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    si = client.v1.setup_intents.create(
        {"customer": customer.id, "usage": "off_session", "allowed_payment_method_types": ["card"]}
    )
    assert isinstance(si, stripe.SetupIntent)
    assert si.status == "requires_payment_method"
    assert si.usage == "off_session"
    assert si.client_secret is not None
    assert si.client_secret.startswith(f"{si.id}_secret_")

    confirmed = client.v1.setup_intents.confirm(si.id, {"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"
    assert isinstance(confirmed.payment_method, str)
    pm = client.v1.payment_methods.retrieve(confirmed.payment_method)
    assert pm.customer == customer.id
    assert client.v1.setup_intents.retrieve(si.id).status == "succeeded"
    assert event_types(client)[-3:] == [
        "setup_intent.created",
        "payment_method.attached",
        "setup_intent.succeeded",
    ]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.setup_intents.confirm(si.id, {"payment_method": "pm_card_visa"})
    assert excinfo.value.code == "setup_intent_unexpected_state"


def test_setup_intent_with_declined_card_is_402(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    si = client.v1.setup_intents.create({"customer": customer.id, "usage": "off_session"})
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.setup_intents.confirm(si.id, {"payment_method": "pm_card_visa_chargeDeclined"})
    assert excinfo.value.code == "card_declined"
    after = client.v1.setup_intents.retrieve(si.id)
    assert after.status == "requires_payment_method"
    assert after.last_setup_error is not None
    assert after.last_setup_error.code == "card_declined"
    assert client.v1.payment_methods.list({"customer": customer.id}).data == []
    assert "setup_intent.setup_failed" in event_types(client)


def test_setup_intent_create_with_confirm_true(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    si = client.v1.setup_intents.create(
        {"customer": customer.id, "payment_method": "pm_card_visa", "confirm": True}
    )
    assert si.status == "succeeded"
    listed = client.v1.payment_methods.list({"customer": customer.id, "type": "card"})
    assert [pm.id for pm in listed.data] == [si.payment_method]

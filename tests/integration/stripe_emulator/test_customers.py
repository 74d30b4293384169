"""Customers, authentication and error envelopes through the unmodified SDK."""

from __future__ import annotations

import httpx
import pytest
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from tests.integration.stripe_emulator.helpers import error_payload, event_types


def test_create_returns_typed_customer_with_endive_fields(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        {
            "email": "ops@acme.test",
            "name": "Ada",
            "business_name": "Acme GmbH",
            "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
            "metadata": {"tenant": "t-1"},
        }
    )
    assert isinstance(cus, stripe.Customer)
    assert cus.id.startswith("cus_")
    assert cus.object == "customer"
    assert cus.email == "ops@acme.test"
    assert cus.business_name == "Acme GmbH"
    assert cus.balance == 0
    assert cus.livemode is False
    assert cus.address is not None
    assert cus.address.city == "Berlin"
    assert cus.address.line2 is None
    assert cus.invoice_settings is not None
    assert cus.invoice_settings.default_payment_method is None
    assert cus.metadata is not None
    assert cus.metadata["tenant"] == "t-1"
    assert client.v1.customers.retrieve(cus.id).to_dict() == cus.to_dict()
    assert event_types(client) == ["customer.created"]


def test_update_merges_metadata_and_unsets_with_empty_strings(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create(
        {"email": "a@x.test", "metadata": {"keep": "1", "drop": "2"}, "address": {"country": "GB"}}
    )
    updated = client.v1.customers.update(
        cus.id,
        {"name": "New", "business_name": "Biz Ltd", "metadata": {"drop": "", "add": "3"}, "address": ""},
    )
    assert updated.name == "New"
    assert updated.business_name == "Biz Ltd"
    assert updated.email == "a@x.test"
    assert updated.address is None
    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {"keep": "1", "add": "3"}
    event = client.v1.events.list({"type": "customer.updated"}).data[0]
    assert event.data.previous_attributes is not None
    assert event.data.previous_attributes["name"] is None
    assert event.data.previous_attributes["address"]["country"] == "GB"


def test_default_payment_method_must_belong_to_customer(client: stripe.StripeClient) -> None:
    alice = client.v1.customers.create({"email": "alice@x.test"})
    bob = client.v1.customers.create({"email": "bob@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": alice.id})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(bob.id, {"invoice_settings": {"default_payment_method": pm.id}})
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "invoice_settings[default_payment_method]"
    updated = client.v1.customers.update(alice.id, {"invoice_settings": {"default_payment_method": pm.id}})
    assert updated.invoice_settings is not None
    assert updated.invoice_settings.default_payment_method == pm.id


def test_delete_then_retrieve_reports_deleted(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "gone@x.test"})
    deleted = client.v1.customers.delete(cus.id)
    assert isinstance(deleted, stripe.Customer)
    assert deleted.id == cus.id
    assert deleted.deleted is True
    assert client.v1.customers.retrieve(cus.id).deleted is True
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.update(cus.id, {"name": "x"})
    assert excinfo.value.http_status == 404
    assert event_types(client) == ["customer.created", "customer.deleted"]


def test_unknown_customer_is_resource_missing_404(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.retrieve("cus_missing")
    err = excinfo.value
    assert err.http_status == 404
    assert err.code == "resource_missing"
    assert err.param == "id"
    assert err.json_body is not None
    assert error_payload(err)["type"] == "invalid_request_error"
    assert error_payload(err)["message"] == "No such customer: 'cus_missing'"


def test_unknown_parameter_is_rejected_like_stripe(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.create({"emial": "typo@x.test"})  # type: ignore[arg-type]
    assert excinfo.value.code == "parameter_unknown"
    assert excinfo.value.param == "emial"


@pytest.mark.parametrize("key", ["sk_live_realkey123", "pk_test_publishable", "garbage"])
def test_bad_api_key_raises_authentication_error(emulator: EmulatorServer, key: str) -> None:
    bad = stripe.StripeClient(key, base_addresses={"api": emulator.url})
    with pytest.raises(stripe.AuthenticationError) as excinfo:
        bad.v1.customers.create({"email": "x@x.test"})
    assert excinfo.value.http_status == 401


def test_missing_authorization_header_is_401(emulator: EmulatorServer) -> None:
    response = httpx.get(f"{emulator.url}/v1/customers/cus_x")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in response.json()["error"]["message"]


def test_basic_auth_like_curl_is_accepted(emulator: EmulatorServer) -> None:
    response = httpx.post(
        f"{emulator.url}/v1/customers", data={"email": "curl@x.test"}, auth=("sk_test_curl", "")
    )
    assert response.status_code == 200
    assert response.json()["email"] == "curl@x.test"


def test_other_api_version_is_refused(emulator: EmulatorServer) -> None:
    old = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url}, stripe_version="2020-08-27")
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        old.v1.customers.create({"email": "x@x.test"})
    assert "2026-10-28.endive" in str(excinfo.value)


def test_unrecognized_url_is_404_json(emulator: EmulatorServer) -> None:
    response = httpx.get(f"{emulator.url}/v1/prices", auth=("sk_test_x", ""))
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("Unrecognized request URL (GET: /v1/prices)")


def test_list_customers_filters_by_email(client: stripe.StripeClient) -> None:
    first = client.v1.customers.create({"email": "same@x.test"})
    client.v1.customers.create({"email": "other@x.test"})
    second = client.v1.customers.create({"email": "same@x.test"})
    listed = client.v1.customers.list({"email": "same@x.test"})
    assert [c.id for c in listed.data] == [second.id, first.id]
    assert listed.has_more is False

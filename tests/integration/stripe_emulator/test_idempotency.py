"""Stripe idempotency: replay (errors included), conflicts, scope of a key."""

from __future__ import annotations

import httpx
import pytest
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from tests.integration.stripe_emulator.helpers import error_payload, event_types


def test_replay_returns_same_object_without_duplicate(client: stripe.StripeClient) -> None:
    params: stripe.params.CustomerCreateParams = {"email": "idem@x.test", "metadata": {"a": "1"}}
    first = client.v1.customers.create(params, {"idempotency_key": "tenant-1:customer:create"})
    second = client.v1.customers.create(params, {"idempotency_key": "tenant-1:customer:create"})
    assert second.id == first.id
    assert second.to_dict() == first.to_dict()
    assert second.last_response is not None
    assert second.last_response.headers["Idempotent-Replayed"] == "true"
    assert first.last_response is not None
    assert "Idempotent-Replayed" not in first.last_response.headers
    assert len(client.v1.customers.list().data) == 1
    assert event_types(client) == ["customer.created"]


def test_invoice_item_replay_adds_one_line(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "i@x.test"})
    inv = client.v1.invoices.create({"customer": cus.id})
    item: stripe.params.InvoiceItemCreateParams = {
        "customer": cus.id,
        "invoice": inv.id,
        "amount": 5000,
        "currency": "usd",
        "description": "Seats",
    }
    a = client.v1.invoice_items.create(item, {"idempotency_key": f"{inv.id}:item:0"})
    b = client.v1.invoice_items.create(item, {"idempotency_key": f"{inv.id}:item:0"})
    assert a.id == b.id
    assert [line.amount for line in client.v1.invoices.line_items.list(inv.id).data] == [5000]


def test_same_key_other_params_is_idempotency_error(client: stripe.StripeClient) -> None:
    client.v1.customers.create({"email": "one@x.test"}, {"idempotency_key": "k-conflict"})
    with pytest.raises(stripe.IdempotencyError) as excinfo:
        client.v1.customers.create({"email": "two@x.test"}, {"idempotency_key": "k-conflict"})
    assert excinfo.value.http_status == 400
    assert excinfo.value.json_body is not None
    assert error_payload(excinfo.value)["type"] == "idempotency_error"
    assert len(client.v1.customers.list().data) == 1


def test_same_key_other_path_is_idempotency_error(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "p@x.test"}, {"idempotency_key": "k-path"})
    with pytest.raises(stripe.IdempotencyError):
        client.v1.invoices.create({"customer": cus.id}, {"idempotency_key": "k-path"})


def test_errors_are_replayed_too(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "decline@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    inv = client.v1.invoices.create({"customer": cus.id})
    client.v1.invoice_items.create({"customer": cus.id, "invoice": inv.id, "amount": 100, "currency": "usd"})
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(inv.id, {"off_session": True}, {"idempotency_key": f"{inv.id}:pay:1"})
    # Fix the card: the same key still replays the stored decline, a new key pays.
    good = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": good.id}})
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(inv.id, {"off_session": True}, {"idempotency_key": f"{inv.id}:pay:1"})
    assert excinfo.value.headers is not None
    assert excinfo.value.headers["Idempotent-Replayed"] == "true"
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 1
    paid = client.v1.invoices.pay(inv.id, {"off_session": True}, {"idempotency_key": f"{inv.id}:pay:2"})
    assert paid.status == "paid"


def test_keys_are_scoped_by_api_key(emulator: EmulatorServer, client: stripe.StripeClient) -> None:
    other = stripe.StripeClient("sk_test_other_account", base_addresses={"api": emulator.url})
    a = client.v1.customers.create({"email": "a@x.test"}, {"idempotency_key": "shared"})
    b = other.v1.customers.create({"email": "b@x.test"}, {"idempotency_key": "shared"})
    assert a.id != b.id


def test_gets_ignore_idempotency_and_reset_forgets_keys(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    first = client.v1.customers.create({"email": "r@x.test"}, {"idempotency_key": "k-reset"})
    control.post("/_emulator/reset").raise_for_status()
    again = client.v1.customers.create({"email": "r@x.test"}, {"idempotency_key": "k-reset"})
    assert again.id != first.id
    assert again.last_response is not None
    assert "Idempotent-Replayed" not in again.last_response.headers

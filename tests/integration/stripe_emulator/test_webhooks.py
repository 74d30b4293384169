"""Webhooks: Stripe v1 signatures, retries, filters; the events API."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from devstack.stripe_emulator.settings import EmulatorSettings
from tests.integration.stripe_emulator.helpers import WEBHOOK_SECRET, Receiver, wait_for


def _verified(receiver: Receiver) -> list[stripe.Event]:
    return [
        stripe.Webhook.construct_event(r.body.decode(), r.signature, WEBHOOK_SECRET)
        for r in receiver.snapshot()
    ]


def test_signed_events_verify_with_construct_event(
    client: stripe.StripeClient, receiver: Receiver, webhook: str
) -> None:
    cus = client.v1.customers.create({"email": "hook@x.test"}, {"idempotency_key": "hook-create"})
    client.v1.customers.update(cus.id, {"name": "Hooked"})
    wait_for(lambda: len(receiver.snapshot()) == 2)
    events = _verified(receiver)
    assert [e.type for e in events] == ["customer.created", "customer.updated"]
    created = events[0]
    assert isinstance(created, stripe.Event)
    assert created.id.startswith("evt_")
    assert created.api_version == "2026-10-28.endive"
    assert created.livemode is False
    assert created.pending_webhooks == 1
    assert created.request is not None
    assert created.request.idempotency_key == "hook-create"
    assert isinstance(created.data.object, stripe.Customer)
    assert created.data.object.id == cus.id
    # The same event is retrievable through the API.
    fetched = client.v1.events.retrieve(created.id)
    assert fetched.type == "customer.created"
    assert fetched.data.object.id == cus.id


def test_tampered_body_or_wrong_secret_fails_verification(
    client: stripe.StripeClient, receiver: Receiver, webhook: str
) -> None:
    client.v1.customers.create({"email": "t@x.test"})
    wait_for(lambda: len(receiver.snapshot()) == 1)
    got = receiver.snapshot()[0]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(got.body.decode().replace("t@x", "u@x"), got.signature, WEBHOOK_SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(got.body.decode(), got.signature, "whsec_wrong")


def test_receiver_500_is_retried_until_success(
    client: stripe.StripeClient, receiver: Receiver, control: httpx.Client, webhook: str
) -> None:
    receiver.fail_next = 2
    client.v1.customers.create({"email": "retry@x.test"})
    wait_for(lambda: len(receiver.snapshot()) == 3)
    bodies = [r.body for r in receiver.snapshot()]
    assert bodies[0] == bodies[1] == bodies[2]

    def deliveries() -> list[dict[str, Any]]:
        found = control.get("/_emulator/deliveries", params={"event_type": "customer.created"})
        rows = found.json()["data"]
        assert isinstance(rows, list)
        return rows

    # The receiver has the third body before the emulator has recorded the third answer.
    wait_for(lambda: [d["status"] for d in deliveries()] == ["succeeded"])
    [delivery] = deliveries()
    assert delivery["attempts"] == 3
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert delivery["endpoint_id"] == webhook
    wait_for(lambda: client.v1.events.retrieve(delivery["event_id"]).pending_webhooks == 0)


def test_unreachable_endpoint_gives_up_after_max_attempts() -> None:
    # A private emulator with a tiny backoff, so the whole retry budget fits in the test.
    settings = EmulatorSettings(webhook_backoff_s=0.01, webhook_max_attempts=3)
    with EmulatorServer(settings) as emu, httpx.Client(base_url=emu.url) as control:
        # Port 9 (discard) on localhost refuses connections: every attempt fails to connect.
        control.post("/_emulator/webhooks", json={"url": "http://127.0.0.1:9/x", "secret": "whsec_x"})
        sdk = stripe.StripeClient("sk_test_x", base_addresses={"api": emu.url})
        cus = sdk.v1.customers.create({"email": "dead@x.test"})

        def delivery() -> dict[str, object]:
            rows = control.get("/_emulator/deliveries").json()["data"]
            assert isinstance(rows, list)
            return rows[0] if rows else {}

        wait_for(lambda: delivery().get("status") == "failed")
        row = delivery()
        assert row["attempts"] == 3
        assert row["last_status_code"] is None
        assert "Connect" in str(row["last_error"])
        event = sdk.v1.events.list({"type": "customer.created"}).data[0]
        assert event.data.object.id == cus.id
        assert event.pending_webhooks == 1


def test_event_filter_and_endpoint_removal(
    client: stripe.StripeClient, receiver: Receiver, control: httpx.Client
) -> None:
    endpoint = control.post(
        "/_emulator/webhooks",
        json={"url": receiver.url, "secret": WEBHOOK_SECRET, "events": ["invoice.*"]},
    ).json()
    assert endpoint["events"] == ["invoice.*"]
    assert [e["id"] for e in control.get("/_emulator/webhooks").json()["data"]] == [endpoint["id"]]
    cus = client.v1.customers.create({"email": "f@x.test"})
    client.v1.invoices.create({"customer": cus.id})
    wait_for(lambda: len(receiver.snapshot()) == 1)
    assert [e.type for e in _verified(receiver)] == ["invoice.created"]

    assert control.delete(f"/_emulator/webhooks/{endpoint['id']}").json()["deleted"] is True
    assert control.delete(f"/_emulator/webhooks/{endpoint['id']}").status_code == 404
    client.v1.invoices.create({"customer": cus.id})
    assert client.v1.events.list({"type": "invoice.created"}).data[0].pending_webhooks == 0
    assert len(receiver.snapshot()) == 1


def test_payment_failed_is_delivered_on_decline(
    client: stripe.StripeClient, receiver: Receiver, control: httpx.Client
) -> None:
    control.post(
        "/_emulator/webhooks",
        json={"url": receiver.url, "secret": WEBHOOK_SECRET, "events": ["invoice.payment_failed"]},
    ).raise_for_status()
    cus = client.v1.customers.create({"email": "d@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus.id})
    inv = client.v1.invoices.create({"customer": cus.id, "currency": "eur"})
    client.v1.invoice_items.create({"customer": cus.id, "invoice": inv.id, "amount": 1200, "currency": "eur"})
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(inv.id, {"off_session": True, "payment_method": pm.id})
    wait_for(lambda: len(receiver.snapshot()) == 1)
    [event] = _verified(receiver)
    assert event.type == "invoice.payment_failed"
    assert isinstance(event.data.object, stripe.Invoice)
    assert event.data.object.id == inv.id
    assert event.data.object.status == "open"
    assert event.data.object.amount_remaining == 1200


def test_events_list_filters(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "e@x.test"})
    inv = client.v1.invoices.create({"customer": cus.id})
    client.v1.invoices.finalize_invoice(inv.id)
    by_type = client.v1.events.list({"type": "invoice.*"})
    assert [e.type for e in by_type.data] == [
        "invoice.payment_succeeded",
        "invoice.paid",
        "invoice.finalized",
        "invoice.created",
    ]
    several = client.v1.events.list({"types": ["customer.created", "invoice.created"]})
    assert [e.type for e in several.data] == ["invoice.created", "customer.created"]
    first = client.v1.events.list({"type": "customer.created"}).data[0]
    assert len(client.v1.events.list({"created": {"gte": first.created}}).data) == 5
    assert client.v1.events.list({"created": {"gt": first.created + 3600}}).data == []
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.events.retrieve("evt_missing")
    assert excinfo.value.http_status == 404


def test_bad_webhook_registration_is_400(control: httpx.Client) -> None:
    assert control.post("/_emulator/webhooks", json={"url": "ftp://x"}).status_code == 400
    assert control.post("/_emulator/webhooks", content=b"{not json").status_code == 400
    generated = control.post("/_emulator/webhooks", json={"url": "http://127.0.0.1:9/"}).json()
    assert generated["secret"].startswith("whsec_")
    assert json.loads(json.dumps(generated))["events"] == ["*"]

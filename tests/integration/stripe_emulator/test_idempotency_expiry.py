"""Stripe forgets idempotency keys after 24 hours and never stores a failed validation."""

from __future__ import annotations

import httpx
import pytest
import stripe

from devstack.stripe_emulator.idempotency import IdempotencyStore, StoredResponse, stores_result


def _expire(control: httpx.Client, prefix: str = "") -> int:
    response = control.post("/_emulator/idempotency/expire", json={"prefix": prefix})
    response.raise_for_status()
    expired = response.json()["expired"]
    assert isinstance(expired, int)
    return expired


def test_an_expired_key_runs_the_request_again(client: stripe.StripeClient, control: httpx.Client) -> None:
    first = client.v1.customers.create({"email": "e@x.test"}, {"idempotency_key": "k-exp"})
    replay = client.v1.customers.create({"email": "e@x.test"}, {"idempotency_key": "k-exp"})
    assert replay.id == first.id
    assert _expire(control) == 1
    again = client.v1.customers.create({"email": "e@x.test"}, {"idempotency_key": "k-exp"})
    assert again.id != first.id  # what real Stripe does a day later: a second customer
    assert again.last_response is not None
    assert "Idempotent-Replayed" not in again.last_response.headers


def test_expire_by_prefix_keeps_other_keys(client: stripe.StripeClient, control: httpx.Client) -> None:
    a = client.v1.customers.create({"email": "a@x.test"}, {"idempotency_key": "invoice:A:create"})
    b = client.v1.customers.create({"email": "b@x.test"}, {"idempotency_key": "customer:B:create"})
    assert _expire(control, "invoice:") == 1
    assert (
        client.v1.customers.create({"email": "b@x.test"}, {"idempotency_key": "customer:B:create"}).id == b.id
    )
    assert (
        client.v1.customers.create({"email": "a@x.test"}, {"idempotency_key": "invoice:A:create"}).id != a.id
    )


def test_bad_expire_body_is_400(control: httpx.Client) -> None:
    assert control.post("/_emulator/idempotency/expire", json={"prefix": 3}).status_code == 400


def test_failed_validation_is_not_stored(client: stripe.StripeClient) -> None:
    """A 400 naming a param stores nothing: the corrected retry with the same key runs."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.create({"customer": "cus_missing"}, {"idempotency_key": "k-val"})
    assert excinfo.value.param == "customer"
    cus = client.v1.customers.create({"email": "v@x.test"})
    # Other parameters under the same key: no idempotency_error, since nothing was kept.
    inv = client.v1.invoices.create({"customer": cus.id}, {"idempotency_key": "k-val"})
    assert inv.status == "draft"


def test_state_errors_and_declines_are_stored(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "s@x.test"})
    inv = client.v1.invoices.create({"customer": cus.id})
    client.v1.invoices.finalize_invoice(inv.id)  # zero total: paid at once
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(inv.id, {}, {"idempotency_key": "k-state"})
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.pay(inv.id, {}, {"idempotency_key": "k-state"})
    assert excinfo.value.headers is not None
    assert excinfo.value.headers["Idempotent-Replayed"] == "true"


def test_stores_result_table() -> None:
    validation = {"error": {"type": "invalid_request_error", "param": "amount", "message": "x"}}
    state = {"error": {"type": "invalid_request_error", "message": "Invoice is already paid."}}
    decline = {"error": {"type": "card_error", "code": "card_declined", "param": None}}
    assert not stores_result(400, validation)
    assert stores_result(400, state)
    assert stores_result(402, decline)
    assert stores_result(200, {"id": "cus_1"})
    assert stores_result(500, {"error": {"type": "api_error"}})


def test_store_prunes_keys_older_than_its_ttl() -> None:
    now = [1000.0]
    store = IdempotencyStore(ttl_s=60, clock=lambda: now[0])
    assert store.begin("sk", "old", "d1") is None
    store.finish("sk", "old", StoredResponse(200, b"{}"))
    now[0] += 30
    assert store.begin("sk", "young", "d2") is None
    store.finish("sk", "young", StoredResponse(200, b"{}"))
    assert store.begin("sk", "old", "d1") == StoredResponse(200, b"{}")
    now[0] += 31  # "old" is now 61 s old, "young" 31 s
    assert store.begin("sk", "old", "other") is None  # pruned: even other params run
    assert store.begin("sk", "young", "d2") == StoredResponse(200, b"{}")

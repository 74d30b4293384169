"""Injected faults against the SDK's retry logic, and why idempotency keys matter."""

from __future__ import annotations

import time

import httpx
import pytest
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from tests.integration.stripe_emulator.helpers import requests_log


def arm(control: httpx.Client, **spec: object) -> dict[str, object]:
    response = control.post("/_emulator/faults", json=spec)
    response.raise_for_status()
    body = response.json()
    assert isinstance(body, dict)
    return body


def attempts(control: httpx.Client, path: str) -> list[dict[str, object]]:
    return [r for r in requests_log(control) if r["path"] == path]


def test_429_with_should_retry_is_retried_with_same_key(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    arm(control, mode="429", count=1, path_prefix="/v1/customers")
    cus = client.v1.customers.create({"email": "rl@x.test"})
    assert cus.email == "rl@x.test"
    tries = attempts(control, "/v1/customers")
    assert [(t["status"], t["fault"]) for t in tries] == [(429, "429"), (200, None)]
    assert tries[0]["idempotency_key"] == tries[1]["idempotency_key"] is not None
    assert len(client.v1.customers.list().data) == 1


def test_429_without_retries_raises_rate_limit_error(emulator: EmulatorServer, control: httpx.Client) -> None:
    no_retry = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
    arm(control, mode="429", count=1)
    with pytest.raises(stripe.RateLimitError) as excinfo:
        no_retry.v1.customers.create({"email": "x@x.test"})
    assert excinfo.value.http_status == 429
    assert excinfo.value.headers is not None
    assert excinfo.value.headers["Stripe-Should-Retry"] == "true"


def test_500_is_retried_and_succeeds(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="500", count=2, path_prefix="/v1/customers")
    cus = client.v1.customers.create({"email": "five@x.test"})
    tries = attempts(control, "/v1/customers")
    assert [t["status"] for t in tries] == [500, 500, 200]
    assert len({t["idempotency_key"] for t in tries}) == 1
    assert client.v1.customers.retrieve(cus.id).email == "five@x.test"


def test_500_beyond_retry_budget_raises_api_error(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="500", count=3, path_prefix="/v1/customers")
    with pytest.raises(stripe.APIError) as excinfo:
        client.v1.customers.create({"email": "x@x.test"})
    assert excinfo.value.http_status == 500
    # The faults hit before the write, so nothing was created.
    assert client.v1.customers.list().data == []


def test_dropped_connection_is_retried(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="drop", count=1, path_prefix="/v1/customers")
    cus = client.v1.customers.create({"email": "drop@x.test"})
    tries = attempts(control, "/v1/customers")
    assert [(t["status"], t["fault"]) for t in tries] == [(None, "drop"), (200, None)]
    assert tries[0]["idempotency_key"] == tries[1]["idempotency_key"]
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_dropped_connection_without_retries_is_connection_error(
    emulator: EmulatorServer, control: httpx.Client
) -> None:
    no_retry = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
    arm(control, mode="drop", count=1)
    with pytest.raises(stripe.APIConnectionError) as excinfo:
        no_retry.v1.customers.retrieve("cus_whatever")
    assert excinfo.value.should_retry is True


def test_slow_is_answered_within_the_timeout(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="slow", count=1, delay_s=0.4, path_prefix="/v1/customers")
    started = time.monotonic()
    cus = client.v1.customers.create({"email": "slow@x.test"})
    elapsed = time.monotonic() - started
    assert cus.email == "slow@x.test"
    # The delay was served (no upper bound: a loaded machine may add any wait), in one attempt.
    assert elapsed >= 0.4
    assert [t["status"] for t in attempts(control, "/v1/customers")] == [200]


def test_slow_beyond_client_timeout_is_connection_error(
    emulator: EmulatorServer, control: httpx.Client
) -> None:
    impatient = stripe.StripeClient(
        "sk_test_x",
        base_addresses={"api": emulator.url},
        http_client=stripe.RequestsClient(timeout=0.2),
    )
    arm(control, mode="slow", count=1, delay_s=0.8)
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.customers.retrieve("cus_whatever")


def test_lost_response_after_write_is_saved_by_idempotency(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    """The write happens, the 500 hides it; the retry replays instead of duplicating."""
    arm(control, mode="500", count=1, after=True, path_prefix="/v1/customers")
    cus = client.v1.customers.create({"email": "lost@x.test"})
    assert cus.last_response is not None
    assert cus.last_response.headers["Idempotent-Replayed"] == "true"
    tries = attempts(control, "/v1/customers")
    assert [(t["status"], t["fault_after"]) for t in tries] == [(500, True), (200, None)]
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_lost_response_with_a_new_key_duplicates(
    emulator: EmulatorServer, client: stripe.StripeClient, control: httpx.Client
) -> None:
    """What the engine must avoid: retrying by hand with a fresh key writes twice."""
    no_retry = stripe.StripeClient("sk_test_x", base_addresses={"api": emulator.url})
    arm(control, mode="500", count=1, after=True, path_prefix="/v1/customers")
    with pytest.raises(stripe.APIError):
        no_retry.v1.customers.create({"email": "dup@x.test"})
    no_retry.v1.customers.create({"email": "dup@x.test"})
    assert len(no_retry.v1.customers.list({"email": "dup@x.test"}).data) == 2


def test_lost_response_by_drop_after_pay(client: stripe.StripeClient, control: httpx.Client) -> None:
    cus = client.v1.customers.create({"email": "pay@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    inv = client.v1.invoices.create({"customer": cus.id, "default_payment_method": pm.id})
    client.v1.invoice_items.create({"customer": cus.id, "invoice": inv.id, "amount": 990, "currency": "usd"})
    client.v1.invoices.finalize_invoice(inv.id)
    arm(control, mode="drop", count=1, after=True, path_prefix=f"/v1/invoices/{inv.id}/pay")
    paid = client.v1.invoices.pay(inv.id, {"off_session": True}, {"idempotency_key": f"{inv.id}:pay:1"})
    assert paid.status == "paid"
    assert paid.attempt_count == 1
    assert len(client.v1.events.list({"type": "invoice.paid"}).data) == 1


def test_fault_only_hits_its_path_prefix(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="500", count=5, path_prefix="/v1/invoices")
    client.v1.customers.create({"email": "ok@x.test"})
    armed = control.get("/_emulator/faults").json()["data"]
    assert [(f["mode"], f["remaining"]) for f in armed] == [("500", 5)]
    control.delete("/_emulator/faults").raise_for_status()
    assert control.get("/_emulator/faults").json()["data"] == []


@pytest.mark.parametrize(
    "spec",
    [
        {"mode": "teapot", "count": 1},
        {"mode": "500", "count": 0},
        {"mode": "500", "count": 1, "path_prefix": "/_emulator"},
        {"mode": "429", "count": 1, "after": True},
        {"mode": "slow", "count": 1, "delay_s": -1},
    ],
)
def test_bad_fault_specs_are_400(control: httpx.Client, spec: dict[str, object]) -> None:
    assert control.post("/_emulator/faults", json=spec).status_code == 400


def test_reset_disarms_faults(client: stripe.StripeClient, control: httpx.Client) -> None:
    arm(control, mode="500", count=10)
    control.post("/_emulator/reset").raise_for_status()
    assert client.v1.customers.create({"email": "after-reset@x.test"}).email == "after-reset@x.test"

"""The emulator's optional Stripe rate limit: 429s over the rate, the counter, SDK retries.

These tests run their own emulator with a limit of ``RATE`` requests per second (the shared
one has none, as every other test expects).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import stripe

from devstack.stripe_emulator.__main__ import main as emulator_main
from devstack.stripe_emulator.ratelimit import RATE_LIMIT_MESSAGE, RateLimiter
from devstack.stripe_emulator.server import EmulatorServer
from devstack.stripe_emulator.settings import EmulatorSettings
from tests.integration.stripe_emulator.helpers import API_KEY, error_payload

SDK_INITIAL_DELAY = stripe._http_client.HTTPClient.INITIAL_DELAY  # read at collection, unpatched

RATE = 4.0  # a token every 250 ms: a loaded machine rarely stalls that long between two calls
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorServer]:
    """An emulator refusing more than ``RATE`` requests per second per key."""
    with EmulatorServer(EmulatorSettings(rate_limit_per_second=RATE)) as server:
        yield server


@pytest.fixture
def http(limited: EmulatorServer) -> Iterator[httpx.Client]:
    """Plain HTTP to the limited emulator, which starts each test reset (buckets full)."""
    with httpx.Client(base_url=limited.url, timeout=10) as client:
        client.post("/_emulator/reset").raise_for_status()
        yield client


def stats(http: httpx.Client) -> dict[str, object]:
    body = http.get("/_emulator/stats").json()
    assert isinstance(body, dict)
    return body


def exhaust(http: httpx.Client, headers: dict[str, str] = AUTH) -> None:
    """Spend the key's whole bucket: send until the first 429."""
    for _ in range(int(RATE) * 3):
        if http.get("/v1/customers", headers=headers).status_code == 429:
            return
    pytest.fail("the bucket never ran dry")


def test_burst_over_the_limit_gets_stripe_429s_and_is_counted(http: httpx.Client) -> None:
    responses = [http.get("/v1/customers", headers=AUTH) for _ in range(30)]
    refused = [r for r in responses if r.status_code == 429]
    # One second of burst passes; the rest of a ~0.1 s burst is refused (a token or two refill).
    assert 30 - 2 * int(RATE) <= len(refused) <= 30 - int(RATE)
    assert all(r.status_code in (200, 429) for r in responses)
    assert responses[0].status_code == 200
    first = refused[0]
    assert first.json() == {
        "error": {
            "type": "invalid_request_error",
            "code": "rate_limit",
            "doc_url": "https://docs.stripe.com/error-codes/rate-limit",
            "message": RATE_LIMIT_MESSAGE,
        }
    }
    assert first.headers["Stripe-Should-Retry"] == "true"
    assert first.headers["Stripe-Rate-Limited-Reason"] == "global-rate"
    assert first.headers["Request-Id"].startswith("req_")
    assert stats(http) == {"requests": 30, "rate_limited": len(refused)}


def test_under_the_limit_nothing_is_refused(http: httpx.Client) -> None:
    # A burst of exactly one second's worth always fits: the bucket starts full.
    statuses = [http.get("/v1/customers", headers=AUTH).status_code for _ in range(int(RATE))]
    assert statuses == [200] * int(RATE)
    assert stats(http) == {"requests": int(RATE), "rate_limited": 0}


def test_each_api_key_has_its_own_bucket(http: httpx.Client) -> None:
    exhaust(http)
    other = {"Authorization": "Bearer sk_test_someone_else"}
    assert http.get("/v1/customers", headers=other).status_code == 200


def test_sdk_without_retries_raises_rate_limit_error(limited: EmulatorServer, http: httpx.Client) -> None:
    no_retry = stripe.StripeClient(API_KEY, base_addresses={"api": limited.url})
    no_retry.v1.customers.list()  # the SDK's first call is slow: pay it before the bucket is dry
    refused: stripe.RateLimitError | None = None
    # A token refills every 1/RATE s: on a loaded machine one may come back between the
    # exhaustion and the call (which then succeeds). Dry the bucket again and retry then.
    for attempt in range(3):
        exhaust(http)
        try:
            no_retry.v1.customers.create({"email": f"rl{attempt}@x.test"})
        except stripe.RateLimitError as error:
            refused = error
            break
    assert refused is not None, "the SDK never met a 429"
    assert refused.http_status == 429
    payload = error_payload(refused)
    assert (payload["type"], payload["code"]) == ("invalid_request_error", "rate_limit")


def test_sdk_with_retries_waits_out_the_429_and_succeeds(
    limited: EmulatorServer, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK's own first backoff, whatever a session fixture of another package set for speed.
    monkeypatch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", SDK_INITIAL_DELAY)
    client = stripe.StripeClient(API_KEY, base_addresses={"api": limited.url}, max_network_retries=2)
    client.v1.customers.list()  # the SDK's first call is slow: pay it before the bucket is dry
    # As in the test above, a token may refill between the exhaustion and the call (which
    # then goes through at once): start again from a reset until the call meets a 429.
    for _attempt in range(3):
        http.post("/_emulator/reset").raise_for_status()
        exhaust(http)
        cus = client.v1.customers.create({"email": "patient@x.test"})
        tries = [r for r in http.get("/_emulator/requests").json()["data"] if r["method"] == "POST"]
        if tries[0]["status"] == 429:
            break
    assert cus.email == "patient@x.test"
    # The SDK's first backoff (>= 0.5 s) refills several tokens, so the retry goes through.
    assert [t["status"] for t in tries] == [429, 200]
    assert tries[0]["idempotency_key"] == tries[1]["idempotency_key"] is not None
    assert [c.id for c in client.v1.customers.list().data] == [cus.id]


def test_a_refused_request_changes_nothing(http: httpx.Client) -> None:
    exhaust(http)
    create = {**AUTH, "Idempotency-Key": "rl-create-1"}
    refused = http.post("/v1/customers", data={"email": "no@x.test"}, headers=create)
    assert refused.status_code == 429
    time.sleep(3 / RATE)  # a few tokens back, then look
    assert http.get("/v1/customers", headers=AUTH).json()["data"] == []
    # The 429 was not stored under its key: the same request now runs for real.
    replay = http.post("/v1/customers", data={"email": "no@x.test"}, headers=create)
    assert replay.status_code == 200
    assert "Idempotent-Replayed" not in replay.headers
    assert len(http.get("/v1/customers", headers=AUTH).json()["data"]) == 1


def test_reset_zeroes_the_counter_and_refills_the_bucket(http: httpx.Client) -> None:
    exhaust(http)
    assert stats(http)["rate_limited"] == 1
    http.post("/_emulator/reset").raise_for_status()
    assert stats(http) == {"requests": 0, "rate_limited": 0}
    assert http.get("/v1/customers", headers=AUTH).status_code == 200


def test_the_bucket_refills_at_the_rate_and_holds_one_second() -> None:
    now = [100.0]
    limiter = RateLimiter(4.0, clock=lambda: now[0])
    assert [limiter.allow("k") for _ in range(5)] == [True] * 4 + [False]
    now[0] += 0.25  # one token
    assert [limiter.allow("k") for _ in range(2)] == [True, False]
    now[0] += 60.0  # a long quiet spell refills one second's worth, not a minute's
    assert sum(limiter.allow("k") for _ in range(10)) == 4


def test_unlimited_by_default() -> None:
    limiter = RateLimiter(EmulatorSettings().rate_limit_per_second)
    assert all(limiter.allow("k") for _ in range(10_000))


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "fast"])
def test_cli_refuses_a_rate_that_is_not_a_positive_number(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        emulator_main(["--rate-limit", value])
    assert excinfo.value.code == 2
    assert "--rate-limit" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "inf"])
def test_cli_refuses_an_idempotency_lifetime_that_is_not_positive_and_says_which(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as excinfo:
        emulator_main(["--idempotency-ttl", value])
    assert excinfo.value.code == 2
    err = capsys.readouterr().err
    assert "--idempotency-ttl" in err
    assert "idempotency key lifetime" in err
    assert "rate limit" not in err

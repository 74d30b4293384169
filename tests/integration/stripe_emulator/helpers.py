"""Helpers shared by the emulator contract tests (receiver, polling, logs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest
import stripe
from starlette.requests import Request
from starlette.responses import Response

from devstack.stripe_emulator.server import BackgroundServer

API_KEY = "sk_test_contract"
WEBHOOK_SECRET = "whsec_contract_secret"


@dataclass
class Received:
    """One webhook request as the receiver got it."""

    body: bytes
    signature: str


@dataclass
class Receiver:
    """A webhook receiver that records requests and can fail the first N of them."""

    server: BackgroundServer | None = None
    fail_next: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Where the emulator should POST events."""
        assert self.server is not None
        return f"{self.server.url}/hook"

    def clear(self) -> None:
        """Forget received requests and planned failures."""
        with self.lock:
            self.received.clear()
            self.fail_next = 0

    def snapshot(self) -> list[Received]:
        """Return the requests received so far."""
        with self.lock:
            return list(self.received)

    async def endpoint(self, request: Request) -> Response:
        """Record the request; answer 500 while ``fail_next`` > 0."""
        body = await request.body()
        with self.lock:
            self.received.append(Received(body, request.headers.get("stripe-signature", "")))
            if self.fail_next > 0:
                self.fail_next -= 1
                return Response("boom", status_code=500)
        return Response("ok")


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` until true, or fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s}s")
        time.sleep(0.02)


def event_types(client: stripe.StripeClient) -> list[str]:
    """Return the types of all events so far, oldest first."""
    events = client.v1.events.list({"limit": 100})
    return [e.type for e in reversed(events.data)]


def requests_log(control: httpx.Client) -> list[dict[str, object]]:
    """Return the ``/v1`` attempts the emulator saw, oldest first."""
    data = control.get("/_emulator/requests").json()["data"]
    assert isinstance(data, list)
    return data


def error_payload(err: stripe.StripeError) -> dict[str, object]:
    """Return the ``error`` object of an SDK exception's JSON body."""
    body = err.json_body
    assert isinstance(body, dict)
    payload = body["error"]
    assert isinstance(payload, dict)
    return payload

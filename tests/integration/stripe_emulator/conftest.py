"""Fixtures: one emulator and one webhook receiver per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.routing import Route

from devstack.stripe_emulator.server import BackgroundServer, EmulatorServer
from tests.integration.stripe_emulator.helpers import API_KEY, WEBHOOK_SECRET, Receiver


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """The emulator, started once for the whole session."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on uvicorn in a thread."""
    receiver = Receiver()
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    with BackgroundServer(app) as server:
        receiver.server = server
        yield receiver


@pytest.fixture
def control(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """Plain HTTP client for the ``/_emulator`` control API."""
    with httpx.Client(base_url=emulator.url, timeout=10) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_state(control: httpx.Client, receiver: Receiver) -> None:
    """Every test starts from an empty emulator and a quiet receiver."""
    control.post("/_emulator/reset").raise_for_status()
    receiver.clear()


@pytest.fixture
def client(emulator: EmulatorServer) -> stripe.StripeClient:
    """The unmodified SDK pointed at the emulator, with retries as production uses."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url}, max_network_retries=2)


@pytest.fixture
def webhook(control: httpx.Client, receiver: Receiver) -> str:
    """Register the receiver for all events; returns the endpoint id."""
    response = control.post("/_emulator/webhooks", json={"url": receiver.url, "secret": WEBHOOK_SECRET})
    response.raise_for_status()
    endpoint_id = response.json()["id"]
    assert isinstance(endpoint_id, str)
    return endpoint_id

"""Workers with every workflow and the real activities, on the time-skipping server, with
the Stripe emulator behind the Stripe activities."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from unittest.mock import patch

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import Settings
from db.engine import session_factory
from db.tokens import issue
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import BackgroundServer, EmulatorServer
from tests.workflows.driver import Driver
from tests.workflows.payments import API_KEY, Payments
from worker.composition import build_workers


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """One emulator for the workflow tests; the SDK's retry pause shortened (fault tests)."""
    with EmulatorServer() as server, patch.object(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01):
        yield server


@pytest.fixture(scope="session")
def payments(emulator: EmulatorServer, migrated_engine: AsyncEngine) -> Payments:
    """Cards and charges through the emulator."""
    return Payments(emulator.url, migrated_engine)


@dataclass(frozen=True)
class ApiServer:
    """Where the test API listens and the tokens it accepts."""

    url: str
    service_token: str
    staff_token: str


def stripe_queue(task_queue: str) -> str:
    """The Stripe task queue that goes with a test's main task queue."""
    return f"{task_queue}-stripe"


@pytest.fixture(scope="module")
async def task_queue(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, payments: Payments
) -> AsyncIterator[str]:
    """A running main worker's task queue, with a Stripe worker on `stripe_queue` of it
    (one pair per test module)."""
    queue = f"tenure-test-{uuid.uuid4()}"
    gateway = payments.gateway()
    main, stripe_side = build_workers(
        time_skipping.client,
        migrated_engine,
        gateway,
        task_queue=queue,
        stripe_task_queue=stripe_queue(queue),
    )
    async with main, stripe_side:
        yield queue


@pytest.fixture
async def api_server(
    postgres: EmbeddedPostgres,
    time_skipping: WorkflowEnvironment,
    driver: Driver,
    request: pytest.FixtureRequest,
) -> AsyncIterator[ApiServer]:
    """The HTTP API served by uvicorn on 127.0.0.1 (real HTTP) on the test stack and the
    driver's task queues, with a fresh service token and a fresh staff token; its catalog
    is `seats` unless the test parametrizes this fixture indirectly with another."""
    settings = Settings(
        catalog=getattr(request, "param", "seats"),
        database_url=postgres.url,
        temporal_address=time_skipping.client.service_client.config.target_host,
        task_queue=driver.task_queue,
        stripe_task_queue=driver.stripe_task_queue,
        stripe_api_key=SecretStr(API_KEY),
        stripe_api_base=driver.payments.url,
        stripe_webhook_secret=SecretStr("whsec_api_tests"),
        portal_secret=SecretStr("portal-secret-of-the-workflow-tests-0123456789"),
    )
    async with session_factory(driver.engine)() as session:
        service = await session.run_sync(lambda s: issue(s, "workflow tests", "service"))
        staff = await session.run_sync(lambda s: issue(s, "support desk", "staff"))
        await session.commit()
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        yield ApiServer(server.url, service.secret, staff.secret)
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def api(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `api_server` presenting the service token."""
    headers = {"Authorization": f"Bearer {api_server.service_token}"}
    async with httpx.AsyncClient(base_url=api_server.url, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
async def driver(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, task_queue: str, payments: Payments
) -> AsyncIterator[Driver]:
    """A fresh driver for one workspace; its workflows are terminated afterwards.

    A subscription (or an invoice being dunned) left running keeps firing timers after its
    module's worker is gone, and its unserved tasks would hold back time skipping for
    every later test.
    """
    subject = Driver(time_skipping, migrated_engine, task_queue, payments=payments)
    yield subject
    for handle in await subject.workflow_handles():
        # Already finished workflows answer "not found": nothing to do.
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")

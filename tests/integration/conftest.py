"""Integration tests share the session fixtures of `tests/conftest.py` (PostgreSQL), and one
Temporal dev server for the tests that need real visibility or Schedules (the time-skipping
server has neither)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.stripe_gateway import StripeGateway, stripe_client
from devstack.ports import free_port
from devstack.temporal import TemporalDevServer
from worker.composition import build_workers


def _quiet(name: str, line: str) -> None:
    """The dev server's log is noise unless it fails to start (it raises then)."""


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    """A Temporal dev server on 127.0.0.1 (each test module works on its own task queue)."""
    server = TemporalDevServer(tmp_path_factory.mktemp("temporal"), free_port(), None, _quiet)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def dev_client(dev_server: TemporalDevServer) -> Client:
    """A client of `dev_server` with Tenure's data converter."""
    return await Client.connect(dev_server.address, data_converter=pydantic_data_converter)


@pytest.fixture(scope="session")
async def dev_queue(dev_client: Client, migrated_engine: AsyncEngine) -> AsyncIterator[str]:
    """A task queue on `dev_server` served by a worker with every workflow and database
    activity. Nothing on it posts an invoice (drafts wait an hour), so Stripe is never called."""
    queue = f"dev-{uuid.uuid4()}"
    unused = StripeGateway(stripe_client("sk_test_unused", "http://127.0.0.1:9"))
    [worker] = build_workers(dev_client, migrated_engine, unused, task_queue=queue, stripe_task_queue=None)
    async with worker:
        yield queue

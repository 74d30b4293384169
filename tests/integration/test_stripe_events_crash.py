"""The API process dies after storing a Stripe event and before telling its workflow: the
event is applied after a restart (the start-up re-drive), once, and Stripe's redelivery is
then a duplicate.

The API runs as a real `tenure api` subprocess; the kill point is deterministic: with
``TENURE_TEST_EXIT_AFTER_STRIPE_STORE=1`` the process `os._exit`s right after the store.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from api.webhooks import EXIT_AFTER_STORE_ENV
from devstack.ports import free_port, wait_for_port
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import TemporalDevServer
from tests.integration.test_stripe_webhook import SECRET, InvoiceNoticeSink, event_row, signed, stripe_event
from workflows.invoice import invoice_workflow_id


@pytest.fixture
async def sink_queue(dev_client: Client) -> AsyncIterator[str]:
    queue = f"crash-{uuid.uuid4()}"
    async with Worker(dev_client, task_queue=queue, workflows=[InvoiceNoticeSink]):
        yield queue


@contextmanager
def api_process(
    postgres: EmbeddedPostgres, temporal: TemporalDevServer, port: int, **extra: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`tenure api` on ``port``, ready to answer; killed if still running at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENURE_", "STRIPE_", "TEMPORAL_"))}
    env.update(
        TENURE_DATABASE_URL=postgres.url,
        TEMPORAL_ADDRESS=temporal.address,
        STRIPE_WEBHOOK_SECRET=SECRET,
        TENURE_API_PORT=str(port),
        TENURE_LOG_LEVEL="WARNING",
        **extra,
    )
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api"], env=env)
    try:
        assert wait_for_port("127.0.0.1", port, 60), "the API did not start"
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


async def _post(url: str, payload: bytes) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url, content=payload, headers=signed(payload))


async def _seen(sink: WorkflowHandle[Any, Any], count: int, timeout_s: float = 30.0) -> list[str]:
    """The sink's notices once there are ``count`` of them (the re-drive runs at start-up)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout_s
    while len(seen := await sink.query(InvoiceNoticeSink.seen)) < count:
        assert loop.time() < give_up, f"notices never arrived: {seen}"
        await asyncio.sleep(0.1)
    return list(seen)


@pytest.mark.slow
async def test_an_event_stored_by_an_api_killed_before_the_signal_is_applied_once_after_restart(
    postgres: EmbeddedPostgres,
    migrated_engine: AsyncEngine,
    dev_server: TemporalDevServer,
    dev_client: Client,
    sink_queue: str,
) -> None:
    number = f"crash-{uuid.uuid4().hex[:6]}-00001"
    sink = await dev_client.start_workflow(
        InvoiceNoticeSink.run, id=invoice_workflow_id(number), task_queue=sink_queue
    )
    event_id, payload = stripe_event("invoice.paid", number)
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/stripe/webhook"

    with api_process(postgres, dev_server, port, **{EXIT_AFTER_STORE_ENV: "1"}) as doomed:
        with pytest.raises(httpx.TransportError):  # the process died mid-request: no answer
            await _post(url, payload)
        assert doomed.wait(timeout=30) == 70
    # Stored, never told: Stripe saw no 2xx and will retry, and nothing else happened yet.
    assert await event_row(migrated_engine, event_id) == [{"type": "invoice.paid", "status": "received"}]
    assert await sink.query(InvoiceNoticeSink.seen) == []

    with api_process(postgres, dev_server, port):
        # The restarted API re-drives what was left pending, before any redelivery.
        assert await _seen(sink, 1) == [event_id]
        assert await event_row(migrated_engine, event_id) == [{"type": "invoice.paid", "status": "applied"}]
        # Stripe's redelivery now is a duplicate: acknowledged, not told again.
        again = await _post(url, payload)
        assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": True})
        await asyncio.sleep(0.5)
        assert await sink.query(InvoiceNoticeSink.seen) == [event_id]
    await sink.terminate("test finished")

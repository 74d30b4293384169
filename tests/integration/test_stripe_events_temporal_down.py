"""Temporal stopped: the webhook answers 503 ``temporarily_unavailable`` (Stripe retries) and
keeps the event pending; once Temporal is back, Stripe's redelivery or the re-drive applies it.

Temporal is a dev server of this test's own (the session's is shared), restarted on its
SQLite file so the invoice workflow it ran is still there.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from api.app import create_app
from config.settings import Settings
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import TemporalDevServer
from services.compose import Services
from tests.integration.test_stripe_webhook import SECRET, InvoiceNoticeSink, event_row, signed, stripe_event
from workflows.invoice import invoice_workflow_id

pytestmark = pytest.mark.slow


def _quiet(name: str, line: str) -> None:
    """The dev server's log is noise unless it fails to start (it raises then)."""


@pytest.fixture
def temporal(tmp_path: Path) -> Iterator[TemporalDevServer]:
    server = TemporalDevServer(tmp_path / "temporal", free_port(), None, _quiet)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def app(postgres: EmbeddedPostgres, temporal: TemporalDevServer) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=postgres.url,
        temporal_address=temporal.address,
        stripe_webhook_secret=SecretStr(SECRET),
        stripe_event_redrive_s=3600,  # only the start-up round: the test re-drives itself
        stripe_webhook_deliver_timeout_s=1,
    )
    api = create_app(settings)
    async with api.router.lifespan_context(api):
        yield api


async def _post(api: httpx.AsyncClient, payload: bytes) -> httpx.Response:
    return await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))


async def test_temporal_down_is_a_503_and_the_event_is_applied_when_it_is_back(
    app: FastAPI, temporal: TemporalDevServer, migrated_engine: AsyncEngine
) -> None:
    number = f"down-{uuid.uuid4().hex[:6]}-00001"
    queue = f"down-{uuid.uuid4()}"
    client = await Client.connect(temporal.address, data_converter=pydantic_data_converter)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenure.test", timeout=60) as api:
        async with Worker(client, task_queue=queue, workflows=[InvoiceNoticeSink]):
            sink = await client.start_workflow(
                InvoiceNoticeSink.run, id=invoice_workflow_id(number), task_queue=queue
            )
            before, payload = stripe_event("invoice.finalized", number)
            assert (await _post(api, payload)).status_code == 200  # connected and applied
        temporal.stop()

        # Stripe's delivery and its retry while Temporal is down: 503 each time, kept pending.
        event_id, payload = stripe_event("invoice.paid", number)
        for _ in range(2):
            down = await _post(api, payload)
            assert down.status_code == 503, down.text
            assert down.json()["code"] == "temporarily_unavailable"
            assert set(down.json()) == {"code", "message", "details"}
        assert await event_row(migrated_engine, event_id) == [{"type": "invoice.paid", "status": "received"}]
        # One Stripe will not redeliver (say it gave up): left to the re-drive.
        quiet_id, quiet_payload = stripe_event("invoice.updated", number)
        assert (await _post(api, quiet_payload)).status_code == 503

        temporal.start()
        async with Worker(client, task_queue=queue, workflows=[InvoiceNoticeSink]):
            again = await _post(api, payload)
            assert (again.status_code, again.json()) == (200, {"received": True, "duplicate": False})
            assert await event_row(migrated_engine, event_id) == [
                {"type": "invoice.paid", "status": "applied"}
            ]
            services: Services = app.state.services
            redriven = await services.invoices.redrive_stripe_events(timedelta(0))
            assert (redriven.outcomes.get("applied"), redriven.pending) == (1, 0)
            assert await event_row(migrated_engine, quiet_id) == [
                {"type": "invoice.updated", "status": "applied"}
            ]
            # Each told once: a later redelivery is a duplicate, the re-drive has nothing left.
            dup = await _post(api, payload)
            assert dup.json() == {"received": True, "duplicate": True}
            assert (await services.invoices.redrive_stripe_events(timedelta(0))).outcomes == {}
            assert await sink.query(InvoiceNoticeSink.seen) == [before, event_id, quiet_id]
            await sink.terminate("test finished")

"""The Stripe webhook endpoint: signature on the raw body, stored once, signalled before the
answer; a pending event is delivered by its redelivery or the re-drive."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from config.settings import Settings
from devstack.postgres import EmbeddedPostgres
from services.compose import Services
from workflows.invoice import StripeNotice, invoice_workflow_id

SECRET = "whsec_webhook_test"


@workflow.defn(name="InvoiceNoticeSink", sandboxed=False)
class InvoiceNoticeSink:
    """Stands in for an invoice workflow: remembers the notices it is sent."""

    def __init__(self) -> None:
        self.notices: list[StripeNotice] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def stripe_notice(self, notice: StripeNotice) -> None:
        self.notices.append(notice)

    @workflow.query
    def seen(self) -> list[str]:
        return [n.event_id for n in self.notices]


@pytest.fixture(scope="module")
async def app(
    postgres: EmbeddedPostgres, migrated_engine: AsyncEngine, time_skipping: WorkflowEnvironment
) -> AsyncIterator[FastAPI]:
    settings = Settings(
        database_url=postgres.url,
        temporal_address=time_skipping.client.service_client.config.target_host,
        stripe_webhook_secret=SecretStr(SECRET),
        stripe_event_redrive_s=3600,  # the tests re-drive themselves
    )
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://tenure.test") as client:
        yield client


@pytest.fixture(scope="module")
async def sink_queue(time_skipping: WorkflowEnvironment) -> AsyncIterator[str]:
    queue = f"webhook-{uuid.uuid4()}"
    async with Worker(time_skipping.client, task_queue=queue, workflows=[InvoiceNoticeSink]):
        yield queue


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    stamp = at if at is not None else int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def stripe_event(kind: str, number: str | None) -> tuple[str, bytes]:
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    obj: dict[str, Any] = (
        {"object": "invoice", "id": f"in_{uuid.uuid4().hex[:8]}", "metadata": {"number": number}}
        if number
        else {"object": "customer", "id": "cus_1"}
    )
    body = {
        "id": event_id,
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "type": kind,
        "livemode": False,
        "data": {"object": obj},
    }
    return event_id, json.dumps(body).encode()


async def event_row(engine: AsyncEngine, event_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT type, status FROM stripe_events WHERE id = :id"), {"id": event_id}
        )
        return [dict(r._mapping) for r in result]


async def test_a_signed_invoice_event_is_stored_once_and_told_to_its_workflow(
    api: httpx.AsyncClient, migrated_engine: AsyncEngine, time_skipping: WorkflowEnvironment, sink_queue: str
) -> None:
    number = f"acme-{uuid.uuid4().hex[:6]}-00001"
    sink = await time_skipping.client.start_workflow(
        InvoiceNoticeSink.run, id=invoice_workflow_id(number), task_queue=sink_queue
    )
    event_id, payload = stripe_event("invoice.paid", number)
    first = await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))
    assert first.status_code == 200
    assert first.json() == {"received": True, "duplicate": False}
    again = await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))
    assert again.json() == {"received": True, "duplicate": True}
    assert await event_row(migrated_engine, event_id) == [{"type": "invoice.paid", "status": "applied"}]
    assert await sink.query(InvoiceNoticeSink.seen) == [event_id]
    await sink.terminate("test finished")


@pytest.mark.parametrize(
    ("case", "headers"),
    [
        ("forged", lambda p: signed(p, secret="whsec_somebody_else")),
        ("stale", lambda p: signed(p, at=int(time.time()) - 3600)),
        ("unsigned", lambda p: {"Content-Type": "application/json"}),
    ],
)
async def test_forged_stale_or_unsigned_events_are_refused_and_not_stored(
    api: httpx.AsyncClient, migrated_engine: AsyncEngine, case: str, headers: Any
) -> None:
    event_id, payload = stripe_event("invoice.paid", "acme-00001")
    response = await api.post("/v1/stripe/webhook", content=payload, headers=headers(payload))
    assert response.status_code == 400, case
    assert response.json()["code"] == "invalid_signature"
    assert await event_row(migrated_engine, event_id) == []


async def test_other_events_and_unknown_invoices_are_kept_but_ignored(
    api: httpx.AsyncClient, migrated_engine: AsyncEngine
) -> None:
    customer_event, payload = stripe_event("customer.updated", None)
    assert (await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))).status_code == 200
    ignored = [{"type": "customer.updated", "status": "ignored"}]
    assert await event_row(migrated_engine, customer_event) == ignored
    orphan_event, payload = stripe_event("invoice.paid", "nobody-00001")
    assert (await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))).status_code == 200
    assert await event_row(migrated_engine, orphan_event) == [{"type": "invoice.paid", "status": "ignored"}]


async def _store_pending(engine: AsyncEngine, event_id: str, payload: bytes) -> None:
    """What an API that died between the store and the signal leaves behind."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO stripe_events (id, type, payload)"
                " VALUES (:id, 'invoice.paid', CAST(:doc AS jsonb))"
            ),
            {"id": event_id, "doc": payload.decode()},
        )


async def test_a_redelivery_of_an_event_stored_but_never_told_is_told_not_acknowledged_as_duplicate(
    api: httpx.AsyncClient, migrated_engine: AsyncEngine, time_skipping: WorkflowEnvironment, sink_queue: str
) -> None:
    number = f"acme-{uuid.uuid4().hex[:6]}-00002"
    sink = await time_skipping.client.start_workflow(
        InvoiceNoticeSink.run, id=invoice_workflow_id(number), task_queue=sink_queue
    )
    event_id, payload = stripe_event("invoice.paid", number)
    await _store_pending(migrated_engine, event_id, payload)
    again = await api.post("/v1/stripe/webhook", content=payload, headers=signed(payload))
    assert again.json() == {"received": True, "duplicate": False}
    assert await event_row(migrated_engine, event_id) == [{"type": "invoice.paid", "status": "applied"}]
    assert await sink.query(InvoiceNoticeSink.seen) == [event_id]
    await sink.terminate("test finished")


async def test_the_redrive_tells_pending_events_old_enough_and_leaves_younger_ones(
    app: FastAPI, migrated_engine: AsyncEngine, time_skipping: WorkflowEnvironment, sink_queue: str
) -> None:
    number = f"acme-{uuid.uuid4().hex[:6]}-00003"
    sink = await time_skipping.client.start_workflow(
        InvoiceNoticeSink.run, id=invoice_workflow_id(number), task_queue=sink_queue
    )
    old_id, old = stripe_event("invoice.paid", number)
    young_id, young = stripe_event("invoice.paid", number)
    await _store_pending(migrated_engine, old_id, old)
    await _store_pending(migrated_engine, young_id, young)
    async with migrated_engine.begin() as conn:  # stored a minute ago
        await conn.execute(
            text("UPDATE stripe_events SET received_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": old_id},
        )
    services: Services = app.state.services
    done = await services.invoices.redrive_stripe_events(timedelta(seconds=30))
    assert (done.outcomes.get("applied"), done.pending) == (1, 0)
    assert await event_row(migrated_engine, old_id) == [{"type": "invoice.paid", "status": "applied"}]
    assert await event_row(migrated_engine, young_id) == [{"type": "invoice.paid", "status": "received"}]
    assert await sink.query(InvoiceNoticeSink.seen) == [old_id]
    # Its collection gone (settled), a pending event is kept as ignored, not re-sent forever.
    await sink.terminate("settled")
    await services.invoices.redrive_stripe_events(timedelta(0))
    assert await event_row(migrated_engine, young_id) == [{"type": "invoice.paid", "status": "ignored"}]

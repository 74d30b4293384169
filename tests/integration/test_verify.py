"""`services.verify` against a real subscription (Temporal dev server, PostgreSQL, the Stripe
emulator through the SDK): a clean workspace verifies clean, and each class of violation,
planted in the database or at Stripe, is reported."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import stripe
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.stripe_gateway import stripe_client
from billing import load_catalog
from billing.state import BillingState, Member
from billing.workspace import Member as WorkspaceMember
from client import TenureClient, TenureError
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from db.event_models import EventRow
from db.invoice_models import InvoiceRow
from db.subscription_models import AuditLogRow, EmailOutboxRow, SubscriptionRow
from db.webhook_models import WebhookDeliveryRow, WebhookEndpointRow
from db.workspace_models import MemberRow
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import EmulatorServer
from devstack.temporal import TemporalDevServer
from services.base import UnitOfWork
from services.verify import StripeInvoiceSeen, VerifyService, list_stripe_invoices
from services.workspaces import store_workspace

API_KEY = "sk_test_verify"
SEATS = load_catalog("seats")


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def tenure(dev_client: Client, dev_queue: str) -> TenureClient:
    return TenureClient(dev_client, dev_queue, f"{dev_queue}-stripe")


def _checker(engine: AsyncEngine, tenure: TenureClient, emulator: EmulatorServer) -> VerifyService:
    sdk = stripe_client(API_KEY, emulator.url, timeout_s=5)

    async def clients() -> TenureClient:
        return tenure

    async def listed(customer: str) -> list[StripeInvoiceSeen]:
        return await list_stripe_invoices(sdk, customer)

    return VerifyService(UnitOfWork(session_factory(engine)), clients, lambda _: SEATS, listed, settle_s=0.2)


async def _subscribed(tenure: TenureClient, engine: AsyncEngine) -> str:
    ws = f"verify-{uuid.uuid4().hex[:8]}"
    members = [WorkspaceMember(user_id="alice", role="admin"), WorkspaceMember(user_id="bob", role="member")]
    await store_workspace(session_factory(engine), WorkspaceSetup(workspace_id=ws, members=members))
    now = datetime.now(UTC)
    roster = {m.user_id: Member(role=m.role, role_granted_at=now) for m in members}
    await tenure.start_subscription(ws, SEATS, roster)
    await tenure.assign_seat(ws, user="alice", seat_type="pro", actor="alice")
    await tenure.assign_seat(ws, user="bob", seat_type="pro", actor="alice")
    return ws


def _paid_at_stripe(emulator: EmulatorServer, customer: str, number: str) -> None:
    raw = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    draft = raw.v1.invoices.create(
        {"customer": customer, "currency": "usd", "metadata": {"number": number}, "auto_advance": False}
    )
    assert draft.id is not None
    raw.v1.invoice_items.create(
        {"customer": customer, "invoice": draft.id, "amount": 1500, "currency": "usd"}
    )
    raw.v1.invoices.finalize_invoice(draft.id, {"auto_advance": False})
    raw.v1.invoices.pay(draft.id, {"off_session": True})


async def test_a_clean_workspace_verifies_clean(
    tenure: TenureClient, migrated_engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    ws = await _subscribed(tenure, migrated_engine)
    assert await _checker(migrated_engine, tenure, emulator).verify(ws) == []


async def test_planted_violations_of_every_class_are_reported(
    tenure: TenureClient, migrated_engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    ws = await _subscribed(tenure, migrated_engine)
    checker = _checker(migrated_engine, tenure, emulator)
    raw = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    customer = raw.v1.customers.create({"email": "billing@example.com"}).id
    pm = raw.v1.payment_methods.attach("pm_card_visa", {"customer": customer})
    raw.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": pm.id}})
    number = f"INV-{ws}"
    for _ in range(2):  # the same invoice charged twice
        _paid_at_stripe(emulator, customer, number)
    old = datetime.now(UTC) - timedelta(hours=1)
    async with session_factory(migrated_engine).begin() as session:
        period = {"period_start": old, "period_end": old + timedelta(days=30)}
        session.add(
            InvoiceRow(
                number=number, workspace_id=ws, issued_at=old, currency="usd", total=1500,
                status="paid", stripe_customer_id=customer, **period,
            )
        )  # fmt: skip
        session.add(
            AuditLogRow(
                workspace_id=ws, request_id="lost-command", at=old, actor="alice", action="assign_seat"
            )
        )  # fmt: skip
        await session.execute(
            update(SubscriptionRow).where(SubscriptionRow.workspace_id == ws).values(paid_seats=7)
        )
        await session.execute(
            update(MemberRow)
            .where(MemberRow.workspace_id == ws, MemberRow.user_id == "bob")
            .values(seat_type=None, seat_cycle=None)
        )
        await session.execute(
            update(MemberRow)
            .where(MemberRow.workspace_id == ws, MemberRow.user_id == "alice")
            .values(role="owner")
        )
        await session.execute(
            delete(EventRow).where(EventRow.workspace_id == ws, EventRow.workspace_seq == 1)
        )
        session.add(
            EmailOutboxRow(
                workspace_id=ws, idempotency_key=f"{ws}|lost", template="receipt", created_at=old, data={}
            )
        )  # fmt: skip
        endpoint = f"we_{uuid.uuid4().hex[:12]}"
        session.add(
            WebhookEndpointRow(
                id=endpoint, url="http://127.0.0.1:9/", event_types=["no.such.type"], secret="s",
                status="active", start_seq=0,
            )
        )  # fmt: skip
        await session.flush()
        event = await session.scalar(
            text("SELECT id FROM events WHERE workspace_id = :ws LIMIT 1"), {"ws": ws}
        )
        for attempt in (1, 2):  # delivered twice
            session.add(
                WebhookDeliveryRow(
                    endpoint_id=endpoint, event_id=event, workspace_id=ws, attempt=attempt, at=old,
                    ok=True, status_code=200, duration_ms=1,
                )
            )  # fmt: skip
    try:
        found = await checker.verify(ws)
    finally:
        async with session_factory(migrated_engine).begin() as session:
            await session.execute(delete(WebhookEndpointRow).where(WebhookEndpointRow.id == endpoint))
    lines = [v.line() for v in found]
    checks = {v.check for v in found}
    assert checks == {"command", "projection", "roster", "seats", "events", "email", "charge", "webhook"}, (
        lines
    )
    assert f"{ws}: command: audited command lost-command is not in the workflow" in lines
    assert f"{ws}: projection: paid_seats is 7 in SQL, 2 in the workflow" in lines
    assert f"{ws}: charge: invoice {number} is paid 2 times at Stripe" in lines
    assert f"{ws}: events: 1 sequence numbers missing: 1" in lines
    assert f"{ws}: webhook: event {event} delivered 2 times to {endpoint}" in lines


async def _tenure_verify(
    server: TemporalDevServer, postgres: EmbeddedPostgres, *args: str
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TEMPORAL_ADDRESS": server.address, "TENURE_DATABASE_URL": postgres.url}
    env.pop("TENURE_STRIPE_API_KEY", None)  # no Stripe: the charge check is skipped
    argv = [sys.executable, "-m", "cli.main", "verify", *args]
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=120)


async def test_the_cli_exits_1_with_one_line_per_violation(
    tenure: TenureClient,
    migrated_engine: AsyncEngine,
    dev_server: TemporalDevServer,
    postgres: EmbeddedPostgres,
) -> None:
    ws = await _subscribed(tenure, migrated_engine)
    clean = await _tenure_verify(dev_server, postgres, "--workspace", ws)
    assert (clean.returncode, clean.stdout) == (0, "ok: 1 workspace(s), no violation\n"), clean.stderr
    async with session_factory(migrated_engine).begin() as session:
        await session.execute(
            update(SubscriptionRow).where(SubscriptionRow.workspace_id == ws).values(plan="gold")
        )
    broken = await _tenure_verify(dev_server, postgres, "--workspace", ws, "--json")
    assert broken.returncode == 1, broken.stderr
    assert json.loads(broken.stdout)["violations"] == [
        {
            "workspace_id": ws,
            "check": "projection",
            "message": "plan is 'gold' in SQL, 'business' in the workflow",
        }
    ]
    usage = await _tenure_verify(dev_server, postgres)
    assert usage.returncode == 2


async def test_a_workflow_that_does_not_answer_is_reported(
    dev_client: Client, migrated_engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    """No worker polls its task queue: its query cannot be answered, and that is one violation."""
    orphan = TenureClient(dev_client, f"nobody-{uuid.uuid4().hex[:6]}", "nobody-stripe")
    ws = f"verify-{uuid.uuid4().hex[:8]}"
    await store_workspace(
        session_factory(migrated_engine),
        WorkspaceSetup(workspace_id=ws, members=[WorkspaceMember(user_id="alice", role="admin")]),
    )
    roster = {"alice": Member(role="admin", role_granted_at=datetime.now(UTC))}
    await orphan.start_subscription(ws, SEATS, roster)

    async def clients() -> TenureClient:
        return orphan

    checker = VerifyService(
        UnitOfWork(session_factory(migrated_engine)), clients, lambda _: SEATS, query_timeout_s=1, settle_s=0
    )
    found = await checker.verify(ws)
    assert [(v.check, v.message) for v in found] == [
        ("workflow", "the workflow does not answer: query timed out")
    ]


@pytest.mark.parametrize("code", ["temporarily_unavailable", "too_many_requests"])
async def test_a_query_the_client_gives_up_on_is_reported_not_raised(
    dev_client: Client, migrated_engine: AsyncEngine, code: str
) -> None:
    """The client maps a query's RPC timeout or overload to a TenureError: the checker reports
    that workspace and goes on (it aborted the whole pass of a chaos run)."""

    class Busy(TenureClient):
        async def state(self, workspace_id: str) -> BillingState:
            raise TenureError(code, "the engine cannot answer now: Timeout expired")

    ws = f"verify-{uuid.uuid4().hex[:8]}"
    busy = Busy(dev_client, "unused", "unused-stripe")

    async def clients() -> TenureClient:
        return busy

    checker = VerifyService(
        UnitOfWork(session_factory(migrated_engine)), clients, lambda _: SEATS, settle_s=0
    )
    found = await checker.verify(ws)
    assert [(v.check, v.message) for v in found] == [
        ("workflow", "the workflow does not answer: the engine cannot answer now: Timeout expired")
    ]

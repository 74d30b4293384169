"""The invoice workflow on the time-skipping server, collecting through the Stripe emulator.

A small sink workflow stands in for the subscription: it records the facts the invoice
workflow reports, so these tests see exactly what the subscription would be told.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.invoices import InvoiceActivities
from activities.payments import BillingDetailsActivities
from activities.stripe_gateway import StripeGateway, stripe_client
from billing import dunning_schedule, load_catalog, overdue_at
from billing.invoices import InvoiceDraft, InvoiceLine
from billing.payments import FinishCardSetup, StartCardSetup
from db.engine import session_factory
from devstack.stripe_emulator.server import EmulatorServer
from workflows.invoice import InvoiceJob, InvoiceWorkflow, invoice_workflow_id
from workflows.messages import InvoiceFact

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")
API_KEY = "sk_test_invoice_workflow"
SEATS = load_catalog("seats")


@workflow.defn(sandboxed=False)
class FactSink:
    """Stands in for the subscription workflow: remembers every invoice fact."""

    def __init__(self) -> None:
        self.facts: list[InvoiceFact] = []

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def invoice_status(self, fact: InvoiceFact) -> None:
        self.facts.append(fact)

    @workflow.query
    def seen(self) -> list[str]:
        return [f.event for f in self.facts]


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server, patch.object(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01):
        yield server


@pytest.fixture(scope="module")
def gateway(emulator: EmulatorServer) -> StripeGateway:
    return StripeGateway(stripe_client(API_KEY, emulator.url, timeout_s=5))


@pytest.fixture(scope="module")
async def queues(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, gateway: StripeGateway
) -> AsyncIterator[tuple[str, str]]:
    """A workflow/DB worker and a Stripe worker (its own rate-limited queue in production)."""
    main, payments = f"inv-{uuid.uuid4()}", f"inv-stripe-{uuid.uuid4()}"
    invoices = InvoiceActivities(session_factory(migrated_engine), gateway)
    stripe_side: list[Callable[..., Any]] = [
        invoices.collect_invoice,
        invoices.refresh_invoice,
        invoices.void_invoice,
    ]
    db_side: list[Callable[..., Any]] = [invoices.persist_invoice, invoices.mark_invoice]
    async with (
        Worker(
            time_skipping.client, task_queue=main, workflows=[InvoiceWorkflow, FactSink], activities=db_side
        ),
        Worker(time_skipping.client, task_queue=payments, activities=stripe_side),
    ):
        yield main, payments


async def _card(
    engine: AsyncEngine, gateway: StripeGateway, emulator: EmulatorServer, ws: str, magic: str
) -> None:
    """Give the workspace a card the SPEC way: SetupIntent, confirmed by the browser, finished."""
    details = BillingDetailsActivities(session_factory(engine), gateway)
    started = await details.start_card_setup(StartCardSetup(workspace_id=ws, request_id=uuid.uuid4().hex))
    raw = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    raw.v1.setup_intents.confirm(started.setup_intent_id, {"payment_method": magic})
    await details.finish_card_setup(FinishCardSetup(workspace_id=ws, setup_intent_id=started.setup_intent_id))


async def _start(env: WorkflowEnvironment, queues: tuple[str, str], ws: str, total: int) -> tuple[str, str]:
    main, payments = queues
    now = await env.get_current_time()
    sink = f"sink-{ws}"
    await env.client.start_workflow(FactSink.run, id=sink, task_queue=main)
    period = (now, now + timedelta(days=30))
    line = InvoiceLine(
        kind="seat",
        description="Pro seat",
        quantity=1,
        unit_amount=total,
        amount=total,
        period_start=period[0],
        period_end=period[1],
    )
    draft = InvoiceDraft(
        number=f"{ws}-00001",
        issued_at=now,
        period_start=period[0],
        period_end=period[1],
        currency="usd",
        lines=(line,) if total else (),
        total=total,
    )
    job = InvoiceJob(
        workspace_id=ws,
        subscription_workflow_id=sink,
        draft=draft,
        retry_at=tuple(dunning_schedule(draft.issued_at, SEATS)),
        overdue_at=overdue_at(draft.issued_at, SEATS),
        stripe_task_queue=payments,
    )
    await env.client.start_workflow(
        InvoiceWorkflow.run, job, id=invoice_workflow_id(draft.number), task_queue=main
    )
    return sink, draft.number


async def _status(engine: AsyncEngine, number: str) -> tuple[str, int]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, attempt_count FROM invoices WHERE number = :n"), {"n": number}
            )
        ).one()
    return str(row[0]), int(row[1])


async def test_a_card_that_works_pays_at_once(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    gateway: StripeGateway,
    emulator: EmulatorServer,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await _card(migrated_engine, gateway, emulator, ws, "pm_card_visa")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    result = await time_skipping.client.get_workflow_handle(invoice_workflow_id(number)).result()
    assert result == "paid"
    assert await time_skipping.client.get_workflow_handle(sink).query(FactSink.seen) == ["paid"]
    assert await _status(migrated_engine, number) == ("paid", 1)


async def test_a_failing_card_is_dunned_to_the_final_rule(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    gateway: StripeGateway,
    emulator: EmulatorServer,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await _card(migrated_engine, gateway, emulator, ws, "pm_card_chargeCustomerFail")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    sink_handle = time_skipping.client.get_workflow_handle(sink)
    await time_skipping.sleep(timedelta(days=8))
    seen = await sink_handle.query(FactSink.seen)
    assert seen == ["payment_failed"] * 4 + ["final_failure"]
    assert await _status(migrated_engine, number) == ("overdue", 4)
    # A working card afterwards: support (or the card update) retries at once and it is paid.
    await _card(migrated_engine, gateway, emulator, ws, "pm_card_visa")
    handle = time_skipping.client.get_workflow_handle(invoice_workflow_id(number))
    await handle.signal(InvoiceWorkflow.retry_now)
    assert await handle.result() == "paid"
    assert (await sink_handle.query(FactSink.seen))[-1] == "paid"
    assert await _status(migrated_engine, number) == ("paid", 5)


async def test_a_zero_invoice_is_paid_without_a_charge(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    _, number = await _start(time_skipping, queues, ws, 0)
    assert await time_skipping.client.get_workflow_handle(invoice_workflow_id(number)).result() == "paid"
    assert await _status(migrated_engine, number) == ("paid", 0)


async def test_void_on_request(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    gateway: StripeGateway,
    emulator: EmulatorServer,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await _card(migrated_engine, gateway, emulator, ws, "pm_card_chargeCustomerFail")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    await time_skipping.sleep(timedelta(hours=1))
    handle = time_skipping.client.get_workflow_handle(invoice_workflow_id(number))
    await handle.signal(InvoiceWorkflow.void)
    assert await handle.result() == "void"
    assert (await time_skipping.client.get_workflow_handle(sink).query(FactSink.seen))[-1] == "voided"
    assert (await _status(migrated_engine, number))[0] == "void"

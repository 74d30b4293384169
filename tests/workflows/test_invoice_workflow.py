"""The invoice workflow on the time-skipping server, collecting through the Stripe emulator.

A small sink workflow stands in for the subscription: it records the facts the invoice
workflow reports, so these tests see exactly what the subscription would be told.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer

from activities.invoices import InvoiceActivities
from activities.posting import PostingActivities
from billing import dunning_schedule, load_catalog, overdue_at
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine
from contracts.invoices import InvoiceJob
from db.engine import session_factory
from tests.workflows.payments import Payments
from worker.composition import build_workers, workflow_runner
from workflows.invoice import InvoiceWorkflow, StripeNotice, invoice_workflow_id
from workflows.messages import InvoiceFact

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

    @workflow.query
    def failures(self) -> list[tuple[str | None, str | None]]:
        return [(f.code, f.action_url) for f in self.facts if f.event == "payment_failed"]


@pytest.fixture(scope="module")
async def queues(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, payments: Payments
) -> AsyncIterator[tuple[str, str]]:
    """A workflow/DB worker and a Stripe worker (its own rate-limited queue in production)."""
    main, stripe_queue = f"inv-{uuid.uuid4()}", f"inv-stripe-{uuid.uuid4()}"
    gateway = payments.gateway()
    invoices = InvoiceActivities(session_factory(migrated_engine), gateway)
    stripe_side: list[Callable[..., Any]] = [
        invoices.collect_invoice,
        invoices.refresh_invoice,
        invoices.void_invoice,
    ]
    db_side: list[Callable[..., Any]] = [invoices.persist_invoice, invoices.mark_invoice]
    db_worker, stripe_worker = build_workers(
        time_skipping.client,
        migrated_engine,
        gateway,
        task_queue=main,
        stripe_task_queue=stripe_queue,
        workflows=[InvoiceWorkflow, FactSink],
        main_activities=db_side,
        stripe_side=stripe_side,
    )
    async with db_worker, stripe_worker:
        yield main, stripe_queue


def _job(sink: str, ws: str, stripe_queue: str, now: datetime, total: int) -> InvoiceJob:
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
    return InvoiceJob(
        workspace_id=ws,
        subscription_workflow_id=sink,
        draft=draft,
        retry_at=tuple(dunning_schedule(draft.issued_at, SEATS)),
        overdue_at=overdue_at(draft.issued_at, SEATS),
        stripe_task_queue=stripe_queue,
    )


async def _start(env: WorkflowEnvironment, queues: tuple[str, str], ws: str, total: int) -> tuple[str, str]:
    main, stripe_queue = queues
    sink = f"sink-{ws}"
    await env.client.start_workflow(FactSink.run, id=sink, task_queue=main)
    job = _job(sink, ws, stripe_queue, await env.get_current_time(), total)
    await env.client.start_workflow(
        InvoiceWorkflow.run, job, id=invoice_workflow_id(job.draft.number), task_queue=main
    )
    return sink, job.draft.number


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
    payments: Payments,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await payments.give_card(ws, "pm_card_visa")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    result = await time_skipping.client.get_workflow_handle(invoice_workflow_id(number)).result()
    assert result == "paid"
    assert await time_skipping.client.get_workflow_handle(sink).query(FactSink.seen) == ["paid"]
    assert await _status(migrated_engine, number) == ("paid", 1)


@pytest.mark.parametrize("total", [3000, 0])
async def test_posting_records_the_invoice_so_its_workflow_does_not(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    payments: Payments,
    total: int,
) -> None:
    """`post_invoice` records the invoice and starts the workflow with ``persisted``: the
    workflow collects it without a `persist_invoice` activity (one workflow task fewer)."""
    main, stripe_queue = queues
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await payments.give_card(ws, "pm_card_visa")
    sink = f"sink-{ws}"
    await time_skipping.client.start_workflow(FactSink.run, id=sink, task_queue=main)
    job = _job(sink, ws, stripe_queue, await time_skipping.get_current_time(), total)
    posting = PostingActivities(InvoiceActivities(session_factory(migrated_engine), payments.gateway()))
    env = ActivityEnvironment(client=time_skipping.client)
    env.info = dataclasses.replace(env.info, task_queue=main)
    assert await env.run(posting.post_invoice, job) is True
    assert await env.run(posting.post_invoice, job) is False  # a retried activity starts nothing
    handle = time_skipping.client.get_workflow_handle(invoice_workflow_id(job.draft.number))
    assert await handle.result() == "paid"
    assert await _status(migrated_engine, job.draft.number) == ("paid", 1 if total else 0)
    events = [e async for e in handle.fetch_history_events()]
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled == (["collect_invoice"] if total else [])
    # The new path replays against today's code (old histories: tests/replay).
    replayer = Replayer(
        workflows=[InvoiceWorkflow], workflow_runner=workflow_runner(), data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(await handle.fetch_history(), raise_on_replay_failure=True)


async def test_a_failing_card_is_dunned_to_the_final_rule(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    payments: Payments,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await payments.give_card(ws, "pm_card_chargeCustomerFail")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    sink_handle = time_skipping.client.get_workflow_handle(sink)
    await time_skipping.sleep(timedelta(days=8))
    seen = await sink_handle.query(FactSink.seen)
    assert seen == ["payment_failed"] * 4 + ["final_failure"]
    assert await _status(migrated_engine, number) == ("overdue", 4)
    # A working card afterwards: support (or the card update) retries at once and it is paid.
    await payments.give_card(ws, "pm_card_visa")
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
    payments: Payments,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await payments.give_card(ws, "pm_card_chargeCustomerFail")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    await time_skipping.sleep(timedelta(hours=1))
    handle = time_skipping.client.get_workflow_handle(invoice_workflow_id(number))
    await handle.signal(InvoiceWorkflow.void)
    assert await handle.result() == "void"
    assert (await time_skipping.client.get_workflow_handle(sink).query(FactSink.seen))[-1] == "voided"
    assert (await _status(migrated_engine, number))[0] == "void"


async def test_authentication_required_waits_for_the_customer_on_the_hosted_page(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    payments: Payments,
) -> None:
    """3-D Secure: one charge, then no blind retries; the final rule still applies on time;
    the customer pays on the hosted page and the webhook's notice settles it."""
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    await payments.give_card(ws, "pm_card_authenticationRequired")
    sink, number = await _start(time_skipping, queues, ws, 3000)
    sink_handle = time_skipping.client.get_workflow_handle(sink)
    await time_skipping.sleep(timedelta(days=8))
    assert await sink_handle.query(FactSink.seen) == ["payment_failed", "final_failure"]
    [(code, url)] = await sink_handle.query(FactSink.failures)
    assert code == "authentication_required"
    assert url is not None
    assert url.endswith("/hosted/invoices/" + payments.stripe_invoices(ws)[0]["id"])  # type: ignore[operator]
    assert await _status(migrated_engine, number) == ("overdue", 1)  # charged once only
    # The customer authenticates on the hosted page and pays; Stripe's webhook reaches us.
    raw = payments.raw()
    [invoice] = payments.stripe_invoices(ws)
    pm = raw.v1.payment_methods.attach("pm_card_visa", {"customer": str(invoice["customer"])})
    raw.v1.invoices.pay(str(invoice["id"]), {"payment_method": pm.id})
    handle = time_skipping.client.get_workflow_handle(invoice_workflow_id(number))
    await handle.signal(InvoiceWorkflow.stripe_notice, StripeNotice(event_id="evt_paid", type="invoice.paid"))
    assert await handle.result() == "paid"
    assert payments.charges(ws) == {number: 1}


@pytest.mark.parametrize(
    ("card", "code"),
    [
        ("pm_card_visa_chargeDeclinedInsufficientFunds", "insufficient_funds"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card"),
        ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc"),
    ],
)
async def test_a_decline_code_reaches_the_subscription_and_follows_the_schedule(
    time_skipping: WorkflowEnvironment,
    queues: tuple[str, str],
    migrated_engine: AsyncEngine,
    payments: Payments,
    card: str,
    code: str,
) -> None:
    ws = f"inv-{uuid.uuid4().hex[:8]}"
    summary = await payments.give_card(ws, "pm_card_visa")
    # Stripe's decline cards cannot be attached: the attached card goes bad instead.
    async with httpx.AsyncClient(base_url=payments.url) as control:
        path = f"/_emulator/payment_methods/{summary.payment_method_id}/behave_as"
        (await control.post(path, json={"card": card})).raise_for_status()
    sink, number = await _start(time_skipping, queues, ws, 3000)
    sink_handle = time_skipping.client.get_workflow_handle(sink)
    await time_skipping.sleep(timedelta(days=8))
    assert await sink_handle.query(FactSink.seen) == ["payment_failed"] * 4 + ["final_failure"]
    assert [c for c, _ in await sink_handle.query(FactSink.failures)] == [code] * 4
    assert await _status(migrated_engine, number) == ("overdue", 4)

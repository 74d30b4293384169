"""Every change appends its public events in its own transaction, against the embedded
PostgreSQL: the decision record, the revert, the reactivation, the data-source deletion and
the invoice status moves. Each activity is run twice (Temporal runs them at least once): the
log holds each event once, in a gapless per-workspace sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.invoices import InvoiceActivities
from activities.stripe_gateway import StripeGateway, stripe_client
from activities.workspace import WorkspaceActivities
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine
from billing.retention import plan_reactivation
from billing.workspace import Member, MemberSeat
from contracts.events import EventOut
from contracts.invoices import CollectInvoice, MarkInvoice, PersistInvoice, VoidInvoice
from contracts.records import TimelineEvent
from contracts.workspace import DueDeletions
from db import event_log
from db.engine import session_factory
from devstack.stripe_emulator.server import EmulatorServer
from services.workspaces import store_workspace
from tests.integration.workspace_support import (
    REVERT_AT,
    decision,
    new_workspace_id,
    projection,
    revert_plan,
    setup_for,
)

DAY = timedelta(days=1)
ISSUED = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def acts(migrated_engine: AsyncEngine) -> WorkspaceActivities:
    return WorkspaceActivities(session_factory(migrated_engine))


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def invoices(migrated_engine: AsyncEngine, emulator: EmulatorServer) -> InvoiceActivities:
    gateway = StripeGateway(stripe_client("sk_test_events", emulator.url, timeout_s=5))
    return InvoiceActivities(session_factory(migrated_engine), gateway)


@pytest.fixture
async def ws(acts: WorkspaceActivities) -> str:
    """A registered workspace (see `setup_for`: Alice, Bob and Carol hold seats, Dave none)."""
    workspace_id = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(workspace_id))
    return workspace_id


async def _events(engine: AsyncEngine, ws: str) -> list[EventOut]:
    async with session_factory(engine)() as session:
        return [event_log.out(r) for r in await event_log.after(session, 0, 1000, workspace_id=ws)]


def _types(events: list[EventOut]) -> list[str]:
    return [e.type for e in events]


async def _twice_appends_once(engine: AsyncEngine, ws: str, run: Any) -> list[EventOut]:
    before = len(await _events(engine, ws))
    await run()
    once = await _events(engine, ws)
    await run()
    assert await _events(engine, ws) == once, "a retried activity appended events"
    assert [e.sequence for e in once] == list(range(1, len(once) + 1)), "the sequence has gaps"
    return once[before:]


async def test_a_decision_appends_its_subscription_member_and_seat_events_once(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    erin = Member(user_id="u-erin", role="user", role_granted_at=REVERT_AT, email="erin@example.com")
    record = decision(
        ws,
        1,
        new_members=[erin],
        removed_members=["u-dave"],
        seats={"u-bob": None, "u-carol": MemberSeat(seat_type="pro", cycle="annual")},
        events=[
            TimelineEvent(at=REVERT_AT, event="member_added", dedupe_key="a|erin", data={"user": "u-erin"}),
            TimelineEvent(at=REVERT_AT, event="member_removed", dedupe_key="r|dave", data={"user": "u-dave"}),
            TimelineEvent(at=REVERT_AT, event="period_renewed", dedupe_key="p|1", data={}),
        ],
    )
    events = await _twice_appends_once(migrated_engine, ws, lambda: acts.record_decision(record))
    assert _types(events) == [
        "subscription.created",
        "member.added",
        "member.removed",
        "seat.unassigned",
        "seat.changed",
    ]
    created, added, removed, unassigned, changed = (e.payload for e in events)
    assert (created["status"], created["plan"]) == ("active", "business")
    assert added == {
        "user_id": "u-erin",
        "role": "user",
        "status": "active",
        "email": "erin@example.com",
        "seat": None,
    }
    assert (removed["user_id"], removed["status"], removed["role"]) == ("u-dave", "removed", "user")
    assert (unassigned["user_id"], unassigned["seat_type"], unassigned["cycle"]) == (
        "u-bob",
        "standard",
        "monthly",
    )
    assert changed == {
        "user_id": "u-carol",
        "seat_type": "pro",
        "cycle": "annual",
        "previous_seat_type": "standard",
        "previous_cycle": "annual",
    }

    canceling = decision(ws, 2, projection=projection(ws, 2, status="canceling"))
    [updated] = await _twice_appends_once(migrated_engine, ws, lambda: acts.record_decision(canceling))
    assert updated.type == "subscription.updated"
    assert (updated.payload["status"], updated.payload["previous"]) == ("canceling", {"status": "active"})
    quiet = decision(ws, 3, projection=projection(ws, 3, status="canceling", seats=1))
    assert await _twice_appends_once(migrated_engine, ws, lambda: acts.record_decision(quiet)) == []


async def test_a_revert_appends_what_it_did_to_each_object_once(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    plan = revert_plan(await acts.load_snapshot(ws))
    events = await _twice_appends_once(migrated_engine, ws, lambda: acts.apply_revert(plan))
    assert _types(events) == [
        *["seat.unassigned"] * 3,  # no decision released them first in this test
        *["member.suspended"] * 3,
        *["connection.deleted"] * 2,
        "slack_bot.removed",
        *["agent.deactivated"] * 2,
        "data_source.deletion_scheduled",
    ]
    suspended = [e.payload for e in events if e.type == "member.suspended"]
    assert [(m["user_id"], m["status"], m["seat"]) for m in suspended] == [
        ("u-bob", "suspended", None),
        ("u-carol", "suspended", None),
        ("u-dave", "suspended", None),
    ]
    [scheduled] = [e for e in events if e.type == "data_source.deletion_scheduled"]
    assert scheduled.payload["id"] == "ds-big"
    assert scheduled.payload["deletion_scheduled_at"] == (REVERT_AT + 7 * DAY).isoformat()
    assert all(e.occurred_at == REVERT_AT for e in events)


async def test_a_reactivation_appends_the_restorations_once(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    revert = revert_plan(await acts.load_snapshot(ws))
    await acts.apply_revert(revert)
    plan = plan_reactivation(await acts.load_snapshot(ws), revert, REVERT_AT + 3 * DAY)
    events = await _twice_appends_once(migrated_engine, ws, lambda: acts.apply_reactivation(plan))
    assert _types(events) == [
        *["seat.assigned"] * 3,
        *["member.restored"] * 3,
        *["agent.reactivated"] * 2,
        "data_source.deletion_canceled",
    ]
    restored = [e.payload["user_id"] for e in events if e.type == "member.restored"]
    assert restored == ["u-bob", "u-carol", "u-dave"]


async def test_a_due_deletion_appends_data_source_deleted_once(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    await acts.apply_revert(revert_plan(await acts.load_snapshot(ws)))
    due = DueDeletions(workspace_id=ws, at=REVERT_AT + 7 * DAY)
    [deleted] = await _twice_appends_once(migrated_engine, ws, lambda: acts.delete_due_data_sources(due))
    assert (deleted.type, deleted.payload) == ("data_source.deleted", {"id": "ds-big", "status": "deleted"})


def _draft(ws: str, total: int) -> PersistInvoice:
    line = InvoiceLine(
        kind="seat",
        description="1 x Standard seat",
        quantity=1,
        unit_amount=total,
        amount=total,
        period_start=ISSUED,
        period_end=ISSUED + 31 * DAY,
    )
    draft = InvoiceDraft(
        number=f"{ws}-00001",
        issued_at=ISSUED,
        period_start=ISSUED,
        period_end=ISSUED + 31 * DAY,
        currency="usd",
        lines=(line,),
        total=total,
    )
    return PersistInvoice(workspace_id=ws, draft=draft)


async def test_invoice_status_moves_are_appended_once_each(
    invoices: InvoiceActivities, migrated_engine: AsyncEngine
) -> None:
    ws = f"ws-{uuid4().hex[:10]}"
    request = _draft(ws, 1200)
    number = request.draft.number
    [posted] = await _twice_appends_once(migrated_engine, ws, lambda: invoices.persist_invoice(request))
    assert posted.type == "invoice.posted"
    assert {k: posted.payload[k] for k in ("number", "status", "total", "currency")} == {
        "number": number,
        "status": "unpaid",
        "total": 1200,
        "currency": "usd",
    }
    overdue = MarkInvoice(number=number, status="overdue", at=ISSUED + 14 * DAY)
    [late] = await _twice_appends_once(migrated_engine, ws, lambda: invoices.mark_invoice(overdue))
    assert (late.type, late.occurred_at) == ("invoice.overdue", ISSUED + 14 * DAY)
    paid = MarkInvoice(number=number, status="paid", at=ISSUED + 15 * DAY)
    [settled] = await _twice_appends_once(migrated_engine, ws, lambda: invoices.mark_invoice(paid))
    assert (settled.type, settled.payload["status"]) == ("invoice.paid", "paid")
    void = VoidInvoice(number=number, at=ISSUED + 16 * DAY)
    assert await _twice_appends_once(migrated_engine, ws, lambda: invoices.void_invoice(void)) == []


async def test_a_zero_invoice_is_posted_and_paid_and_a_void_one_voided(
    invoices: InvoiceActivities, migrated_engine: AsyncEngine
) -> None:
    ws = f"ws-{uuid4().hex[:10]}"
    zero = _draft(ws, 0)
    events = await _twice_appends_once(migrated_engine, ws, lambda: invoices.persist_invoice(zero))
    assert _types(events) == ["invoice.posted", "invoice.paid"]
    other = f"ws-{uuid4().hex[:10]}"
    await invoices.persist_invoice(_draft(other, 500))
    void = VoidInvoice(number=f"{other}-00001", at=ISSUED + DAY)
    [voided] = await _twice_appends_once(migrated_engine, other, lambda: invoices.void_invoice(void))
    assert (voided.type, voided.payload["status"], voided.occurred_at) == (
        "invoice.voided",
        "void",
        ISSUED + DAY,
    )


async def test_a_declined_attempt_appends_payment_failed_once_per_attempt(
    invoices: InvoiceActivities, migrated_engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as control:
        (await control.post("/_emulator/reset")).raise_for_status()
    ws = f"ws-{uuid4().hex[:10]}"
    request = _draft(ws, 1200)
    number = request.draft.number
    await invoices.persist_invoice(request)
    first = CollectInvoice(number=number, attempt=1, at=ISSUED)
    [failed] = await _twice_appends_once(migrated_engine, ws, lambda: invoices.collect_invoice(first))
    assert (failed.type, failed.payload["attempt_count"]) == ("invoice.payment_failed", 1)
    second = CollectInvoice(number=number, attempt=2, at=ISSUED + 3 * DAY)
    [again] = await _twice_appends_once(migrated_engine, ws, lambda: invoices.collect_invoice(second))
    assert (again.type, again.occurred_at) == ("invoice.payment_failed", ISSUED + 3 * DAY)

"""Record-keeping activities (projection, timeline, audit, outbox, seat ledger) and "delete everything"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from activities.workspace import WorkspaceActivities
from billing.records import (
    AuditEntry,
    EventBatch,
    OutboxEmail,
    SeatLedgerEntry,
    SubscriptionProjection,
    TimelineEvent,
    WorkspaceDeletion,
)
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from devstack.postgres import EmbeddedPostgres
from tests.integration.workspace_support import REVERT_AT, dump, new_workspace_id, revert_plan, setup_for

AT = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def acts(engine: AsyncEngine) -> WorkspaceActivities:
    return WorkspaceActivities(session_factory(engine))


@pytest.fixture
async def ws(acts: WorkspaceActivities) -> str:
    workspace_id = new_workspace_id()
    await acts.register_workspace(setup_for(workspace_id))
    return workspace_id


def projection(ws: str, version: int, status: str = "active", seats: int = 3) -> SubscriptionProjection:
    return SubscriptionProjection(
        workspace_id=ws,
        catalog="seats",
        status=status,
        plan="business",
        paid_seats=seats,
        period_start=AT,
        period_end=AT + timedelta(days=28),
        pending_change={"kind": "plan", "to_plan": "team", "effective_at": "2026-03-01T00:00:00+00:00"},
        credit_balance=1_250,
        updated_at=AT + timedelta(minutes=version),
        version=version,
    )


async def test_a_stale_projection_never_overwrites_a_newer_one(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    assert await acts.project_subscription(projection(ws, 2, seats=5))
    assert not await acts.project_subscription(projection(ws, 1, status="trialing", seats=1))
    assert not await acts.project_subscription(projection(ws, 2, seats=5))  # a retry of the same
    [row] = (await dump(engine, ws))["subscriptions"]
    assert (row["version"], row["status"], row["paid_seats"], row["credit_balance"]) == (
        2,
        "active",
        5,
        1_250,
    )
    assert row["pending_change"]["to_plan"] == "team"

    assert await acts.project_subscription(projection(ws, 3, status="canceling", seats=4))
    [row] = (await dump(engine, ws))["subscriptions"]
    assert (row["version"], row["status"], row["paid_seats"]) == (3, "canceling", 4)


async def test_events_audit_outbox_and_seats_are_written_once(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    batch = EventBatch(
        workspace_id=ws,
        events=[
            TimelineEvent(at=AT, event="plan_changed", dedupe_key="req-1:plan", data={"to": "business"}),
            TimelineEvent(at=AT, event="seat_assigned", dedupe_key="req-2:seat", data={"user": "u-bob"}),
        ],
    )
    assert await acts.append_events(batch) == 2
    assert await acts.append_events(batch) == 0
    audit = AuditEntry(
        workspace_id=ws,
        request_id="req-1",
        at=AT,
        actor="staff:sam",
        action="change_plan",
        reason="customer asked by phone",
        before={"plan": "team"},
        after={"plan": "business"},
    )
    assert await acts.append_audit(audit)
    assert not await acts.append_audit(audit)
    email = OutboxEmail(
        workspace_id=ws,
        idempotency_key=f"cancel:{ws}:2026-02-01",
        template="cancellation_confirmation",
        to="billing@example.com",
        at=AT,
        data={"ends_at": "2026-03-01"},
    )
    assert await acts.enqueue_email(email)
    assert not await acts.enqueue_email(email)
    seat = SeatLedgerEntry(
        workspace_id=ws,
        entry_key="req-2:assign",
        at=AT,
        user_id="u-bob",
        seat_type="standard",
        cycle="monthly",
        quantity=1,
        reason="assigned",
    )
    assert await acts.record_seat_change(seat)
    assert not await acts.record_seat_change(seat)

    rows = await dump(engine, ws)
    assert [(e["event"], e["data"]) for e in rows["subscription_events"]] == [
        ("plan_changed", {"to": "business"}),
        ("seat_assigned", {"user": "u-bob"}),
    ]
    [logged] = rows["audit_log"]
    assert (logged["actor"], logged["before"], logged["after"]) == (
        "staff:sam",
        {"plan": "team"},
        {"plan": "business"},
    )
    [queued] = rows["email_outbox"]
    assert (queued["template"], queued["to_address"], queued["sent_at"]) == (
        "cancellation_confirmation",
        "billing@example.com",
        None,
    )
    assert [(s["user_id"], s["quantity"]) for s in rows["seat_ledger"]] == [("u-bob", 1)]


async def test_a_seat_change_for_an_unknown_workspace_is_refused(acts: WorkspaceActivities) -> None:
    entry = SeatLedgerEntry(
        workspace_id="ws-nobody",
        entry_key="k",
        at=AT,
        user_id="u",
        seat_type="standard",
        cycle="monthly",
        quantity=1,
        reason="assigned",
    )
    with pytest.raises(ApplicationError) as error:
        await acts.record_seat_change(entry)
    assert (error.value.type, error.value.non_retryable) == ("workspace_not_found", True)


async def test_delete_everything_keeps_only_billing_and_legal_records(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    await acts.apply_revert(revert_plan(await acts.load_snapshot(ws)))  # queues the deletion warning
    await acts.project_subscription(projection(ws, 7, status="free"))
    await acts.append_audit(
        AuditEntry(workspace_id=ws, request_id="req-del", at=AT, actor="u-alice", action="delete_workspace")
    )
    await acts.record_seat_change(
        SeatLedgerEntry(
            workspace_id=ws,
            entry_key="e1",
            at=AT,
            user_id="u-alice",
            seat_type="standard",
            cycle="monthly",
            quantity=1,
            reason="assigned",
        )
    )
    sent = OutboxEmail(
        workspace_id=ws, idempotency_key=f"{ws}:sent", template="receipt", to="billing@example.com", at=AT
    )
    await acts.enqueue_email(sent)
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE email_outbox SET sent_at = :at WHERE idempotency_key = :k"),
            {"at": AT, "k": f"{ws}:sent"},
        )
    events_before = len((await dump(engine, ws))["subscription_events"])

    deleted_at = REVERT_AT + timedelta(days=2)
    await acts.delete_workspace_data(WorkspaceDeletion(workspace_id=ws, at=deleted_at))
    once = await dump(engine, ws)
    await acts.delete_workspace_data(WorkspaceDeletion(workspace_id=ws, at=deleted_at + timedelta(hours=1)))
    assert await dump(engine, ws) == once

    gone = [
        "members",
        "connections",
        "synced_documents",
        "data_sources",
        "agents",
        "slack_bots",
        "seat_ledger",
    ]
    assert [table for table in gone if once[table]] == []
    [tombstone] = once["workspaces"]
    assert (tombstone["deleted_at"], tombstone["billing_contact_email"]) == (
        deleted_at,
        "billing@example.com",
    )
    [subscription] = once["subscriptions"]
    assert (subscription["status"], subscription["version"]) == ("deleted", 7)
    assert [a["request_id"] for a in once["audit_log"]] == ["req-del"]
    assert [e["template"] for e in once["email_outbox"]] == ["receipt"]  # the unsent warning is dropped
    assert len(once["subscription_events"]) == events_before + 1
    assert once["subscription_events"][-1]["event"] == "workspace_data_deleted"

    with pytest.raises(ApplicationError) as error:
        await acts.load_snapshot(ws)
    assert error.value.type == "workspace_deleted"
    with pytest.raises(ApplicationError) as error:
        await acts.register_workspace(setup_for(ws))
    assert error.value.type == "workspace_deleted"

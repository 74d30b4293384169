""" "Delete everything" (SPEC §2): what is deleted and what stays as the billing and legal record.

The record itself is written by `record_decision` (see `test_record_decision.py`); here it
is the state a deletion finds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from activities.workspace import WorkspaceActivities
from billing.errors import DomainError
from contracts.records import AuditEntry, OutboxEmail, SeatLedgerEntry
from contracts.workspace import WorkspaceDeletion
from db.engine import session_factory
from services.workspaces import store_workspace
from tests.integration.workspace_support import (
    REVERT_AT,
    decision,
    dump,
    new_workspace_id,
    projection,
    revert_plan,
    setup_for,
)

AT = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def acts(migrated_engine: AsyncEngine) -> WorkspaceActivities:
    return WorkspaceActivities(session_factory(migrated_engine))


@pytest.fixture
async def ws(acts: WorkspaceActivities) -> str:
    workspace_id = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(workspace_id))
    return workspace_id


async def test_delete_everything_keeps_only_billing_and_legal_records(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    engine = migrated_engine
    await acts.apply_revert(revert_plan(await acts.load_snapshot(ws)))  # queues the deletion warning
    seat = SeatLedgerEntry(
        workspace_id=ws,
        entry_key="e1",
        at=AT,
        user_id="u-alice",
        seat_type="standard",
        cycle="monthly",
        quantity=1,
        reason="assigned",
    )
    sent = OutboxEmail(
        workspace_id=ws, idempotency_key=f"{ws}:sent", template="receipt", to="billing@example.com", at=AT
    )
    audit = AuditEntry(
        workspace_id=ws, request_id="req-del", at=AT, actor="u-alice", action="delete_workspace"
    )
    await acts.record_decision(
        decision(
            ws,
            7,
            projection=projection(ws, 7, status="free"),
            seat_entries=[seat],
            emails=[sent],
            audit=audit,
        )
    )
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE email_outbox SET sent_at = :at WHERE idempotency_key = :k"),
            {"at": AT, "k": f"{ws}:sent"},
        )
    before = await dump(engine, ws)
    assert [s["entry_key"] for s in before["seat_ledger"]] == ["e1"]
    assert sorted(m["template"] for m in before["email_outbox"]) == [
        "data_source_deletion_warning",
        "receipt",
    ]
    events_before = len(before["subscription_events"])

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
    assert tombstone["deleted_at"] == deleted_at
    [profile] = once["billing_profiles"]  # billing records are kept, the contact with them
    assert profile["billing_email"] == "billing@example.com"
    [subscription] = once["subscriptions"]
    assert (subscription["status"], subscription["version"]) == ("deleted", 7)
    assert [a["request_id"] for a in once["audit_log"]] == ["req-del"]
    assert [e["template"] for e in once["email_outbox"]] == ["receipt"]  # the unsent warning is dropped
    assert len(once["subscription_events"]) == events_before + 1
    assert once["subscription_events"][-1]["event"] == "workspace_data_deleted"

    with pytest.raises(ApplicationError) as error:
        await acts.load_snapshot(ws)
    assert error.value.type == "workspace_deleted"
    with pytest.raises(DomainError) as refused:
        await store_workspace(acts._sessions, setup_for(ws))
    assert refused.value.code == "workspace_deleted"

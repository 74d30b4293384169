"""Cancellation to the free tier, reactivation and deletion, with the database checked."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from billing import AssignSeat, Cancel, DeleteWorkspaceCommand, Reactivate
from billing.workspace import Agent, Member
from contracts.workspace import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup
from tests.workflows.driver import Driver, request_id


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _setup(ws: str) -> WorkspaceSetup:
    """SPEC §7's example workspace: two admins (alice granted first), an 80 MB and a 1 MB source."""
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@acme.test",
        members=[
            Member(user_id="alice", role="admin", role_granted_at=_t("2026-01-05T00:00:00")),
            Member(user_id="bob", role="admin", role_granted_at=_t("2026-02-01T00:00:00")),
            Member(user_id="carol", role="member", role_granted_at=_t("2026-03-01T00:00:00")),
        ],
        connections=[
            ConnectionSetup(id="notion", kind="notion", documents=[DocumentSetup(id="n1", bytes=5_000)]),
            ConnectionSetup(id="slack", kind="slack", documents=[DocumentSetup(id="s1", bytes=7_000)]),
        ],
        data_sources=[
            DataSourceSetup(id="handbook", bytes=80_000_000),
            DataSourceSetup(id="faq", bytes=1_000_000),
        ],
        agents=[Agent(id="support-bot")],
        slack_bot=True,
    )


async def _subscribed_then_cancelled(driver: Driver) -> str:
    ws = f"acme-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    for user in ("alice", "bob"):
        await driver.update(
            AssignSeat(request_id=request_id(), actor="alice", user=user, seat_type="pro")
        )
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-10T00:00:00"))
    result = await driver.update(
        Cancel(request_id=request_id(), actor="bob", reason="too expensive")
    )
    assert result.status == "canceling"
    overview = await driver.overview()
    assert overview.status == "canceling"
    assert overview.cancel_at == _t("2026-11-03T00:00:00")
    return ws


async def _statuses(driver: Driver, table: str) -> dict[str, str]:
    key = "user_id" if table == "members" else "id"
    rows = await driver.rows(f"SELECT {key} AS k, status FROM {table} WHERE workspace_id = :ws")
    return {r["k"]: r["status"] for r in rows}


async def test_cancel_runs_to_period_end_then_reverts_to_free(driver: Driver) -> None:
    await _subscribed_then_cancelled(driver)
    await driver.advance_to(_t("2026-11-03T06:00:00"))

    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.paid_seat_count) == ("free", "free", 0)
    assert await _statuses(driver, "members") == {"alice": "active", "bob": "suspended", "carol": "suspended"}
    assert await _statuses(driver, "connections") == {"notion": "deleted", "slack": "deleted"}
    assert await driver.rows("SELECT id FROM synced_documents WHERE workspace_id = :ws") == []
    assert await _statuses(driver, "agents") == {"support-bot": "deactivated"}
    assert await driver.rows("SELECT * FROM slack_bots WHERE workspace_id = :ws") == []
    sources = await driver.rows(
        "SELECT id, status, deletion_scheduled_at FROM data_sources WHERE workspace_id = :ws ORDER BY id"
    )
    assert sources == [
        {"id": "faq", "status": "active", "deletion_scheduled_at": None},
        {"id": "handbook", "status": "active", "deletion_scheduled_at": _t("2026-11-10T00:00:00")},
    ]
    warned = await driver.rows(
        "SELECT to_address, created_at FROM email_outbox "
        "WHERE workspace_id = :ws AND template LIKE '%deletion%'"
    )
    assert warned == [{"to_address": "billing@acme.test", "created_at": _t("2026-11-03T00:00:00")}]
    assert any("handbook" in w and "2026-11-10" in w for w in overview.warnings)

    await driver.advance_to(_t("2026-11-10T06:00:00"))
    sources = await driver.rows(
        "SELECT id, status, deleted_at FROM data_sources WHERE workspace_id = :ws ORDER BY id"
    )
    assert sources == [
        {"id": "faq", "status": "active", "deleted_at": None},
        {"id": "handbook", "status": "deleted", "deleted_at": _t("2026-11-10T00:00:00")},
    ]
    events = {
        r["event"]
        for r in await driver.rows("SELECT event FROM subscription_events WHERE workspace_id = :ws")
    }
    assert {"cancel_requested", "reverted_to_free", "data_source_deleted"} <= events
    projection = await driver.rows(
        "SELECT status, plan, paid_seats FROM subscriptions WHERE workspace_id = :ws"
    )
    assert projection == [{"status": "free", "plan": "free", "paid_seats": 0}]


async def test_reactivation_on_day_five_restores_and_cancels_the_deletion(driver: Driver) -> None:
    await _subscribed_then_cancelled(driver)
    await driver.advance_to(_t("2026-11-08T10:00:00"))
    result = await driver.update(Reactivate(request_id=request_id(), actor="alice"))
    assert result.status == "active"
    await driver.advance_to(_t("2026-11-08T12:00:00"))

    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.paid_seat_count) == ("active", "business", 2)
    assert overview.period_start == _t("2026-11-08T00:00:00")  # a new period anchored that day
    assert await _statuses(driver, "members") == {"alice": "active", "bob": "active", "carol": "active"}
    assert await _statuses(driver, "agents") == {"support-bot": "active"}
    assert await _statuses(driver, "connections") == {"notion": "deleted", "slack": "deleted"}
    reactivation_invoices = [
        i for i in (await driver.state()).invoices if i.issued_at.date().isoformat() == "2026-11-08"
    ]
    assert [i.total for i in reactivation_invoices] == [6000]

    await driver.advance_to(_t("2026-11-11T00:00:00"))
    sources = await driver.rows(
        "SELECT id, status, deletion_scheduled_at FROM data_sources WHERE workspace_id = :ws ORDER BY id"
    )
    assert sources == [
        {"id": "faq", "status": "active", "deletion_scheduled_at": None},
        {"id": "handbook", "status": "active", "deletion_scheduled_at": None},
    ]


async def test_delete_everything_keeps_only_billing_records(driver: Driver) -> None:
    ws = f"acme-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    await driver.update(
        AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro")
    )
    await driver.advance_to(_t("2026-09-05T00:00:00"))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await driver.update(
            DeleteWorkspaceCommand(request_id=request_id(), actor="alice", confirm="acme")
        )
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "confirmation_mismatch"
    await driver.update(
        DeleteWorkspaceCommand(request_id=request_id(), actor="alice", confirm=ws)
    )
    assert driver.handle is not None
    assert await driver.handle.result() == "deleted"
    for table in ("members", "connections", "data_sources", "agents", "synced_documents", "seat_ledger"):
        assert await driver.rows(f"SELECT * FROM {table} WHERE workspace_id = :ws") == [], table
    assert await driver.rows("SELECT status FROM subscriptions WHERE workspace_id = :ws") == [
        {"status": "deleted"}
    ]
    audit = await driver.rows("SELECT action, actor FROM audit_log WHERE workspace_id = :ws ORDER BY at")
    assert {"action": "delete_workspace", "actor": "alice"} in audit
    posted = await driver.rows(
        "SELECT data FROM subscription_events WHERE workspace_id = :ws AND event = 'invoice_posted'"
    )
    assert posted, "the invoice record outlives the deletion"

"""The entitlements projection follows a whole paid life on the real workflow: subscribe,
cancel, revert to free at the period end (a clock event), reactivate; one
``entitlements.updated`` per change of the grant, none for a renewal that changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from billing import AssignSeat, Cancel, Reactivate
from billing.workspace import Member
from contracts.workspace import ConnectionSetup, WorkspaceSetup
from tests.workflows.driver import Driver, request_id


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _grants(driver: Driver) -> list[tuple[str, str, bool]]:
    rows = await driver.rows(
        "SELECT payload FROM events WHERE workspace_id = :ws AND type = 'entitlements.updated'"
        " ORDER BY workspace_seq"
    )
    return [(r["payload"]["plan"], r["payload"]["status"], r["payload"]["active"]) for r in rows]


async def test_the_projection_follows_a_paid_life(driver: Driver) -> None:
    ws = f"ent-{uuid.uuid4().hex[:8]}"
    setup = WorkspaceSetup(
        workspace_id=ws,
        members=[
            Member(user_id="alice", role="admin", role_granted_at=_t("2026-01-05T00:00:00")),
            Member(user_id="bob", role="member", role_granted_at=_t("2026-02-01T00:00:00")),
        ],
        connections=[ConnectionSetup(id="notion", kind="notion")],
    )
    await driver.start(setup, "seats", _t("2026-09-03T09:00:00"))
    await driver.update(AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro"))
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-03T12:00:00"))  # a renewal: same grant, new window
    await driver.pay_all()
    assert await _grants(driver) == [("free", "free", True), ("business", "active", True)]
    [row] = await driver.rows(
        "SELECT credits_window_start, version FROM entitlements WHERE workspace_id = :ws"
    )
    assert row["credits_window_start"] == _t("2026-10-03T00:00:00")
    await driver.update(Cancel(request_id=request_id(), actor="alice", reason="budget"))
    await driver.advance_to(_t("2026-11-03T06:00:00"))  # the revert, at the period end
    await driver.update(Reactivate(request_id=request_id(), actor="alice"))
    grants = await _grants(driver)
    assert grants == [
        ("free", "free", True),
        ("business", "active", True),
        ("business", "canceling", True),
        ("free", "free", True),
        ("business", "active", True),
    ]
    [now] = await driver.rows(
        "SELECT plan, status, members_used, paid_seats_used FROM entitlements WHERE workspace_id = :ws"
    )
    assert now == {"plan": "business", "status": "active", "members_used": 2, "paid_seats_used": 1}

"""The seats catalog end to end: real workflow, real activities, embedded PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from billing import AssignSeat
from billing.workspace import Member
from contracts.workspace import WorkspaceSetup
from tests.workflows.driver import Driver, request_id


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _setup(ws: str) -> WorkspaceSetup:
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@acme.test",
        members=[
            Member(user_id="alice", role="admin", role_granted_at=_t("2026-01-05T00:00:00")),
            Member(user_id="bob", role="admin", role_granted_at=_t("2026-02-01T00:00:00")),
            Member(user_id="carol", role="member", role_granted_at=_t("2026-03-01T00:00:00")),
        ],
    )


async def test_per_seat_proration_worked_example(driver: Driver) -> None:
    ws = f"acme-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    for user in ("alice", "bob"):
        await driver.update(
            AssignSeat(request_id=request_id(), actor="alice", user=user, seat_type="pro")
        )
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    assert len(await driver.pay_all()) >= 1
    await driver.advance_to(_t("2026-09-18T12:00:00"))
    await driver.update(
        AssignSeat(request_id=request_id(), actor="alice", user="carol", seat_type="pro")
    )
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    assert len(await driver.pay_all()) == 1
    await driver.advance_to(_t("2026-10-04T00:00:00"))
    state = await driver.state()
    assert {i.status for i in state.invoices} == {"paid"}
    totals = [(i.issued_at.date().isoformat(), i.total) for i in state.invoices]
    assert sum(t for d, t in totals if d == "2026-09-03") == 6000
    assert [t for d, t in totals if d == "2026-10-03"] == [10500]
    subscription = await driver.rows(
        "SELECT status, plan, paid_seats FROM subscriptions WHERE workspace_id = :ws"
    )
    assert subscription == [{"status": "active", "plan": "business", "paid_seats": 3}]

"""The acceptance story of the event log, on the real workflow (time-skipping server, real
activities, embedded PostgreSQL): a seats workspace cancels, reverts to free and reactivates;
its stream tells each step in order, once, with a gapless sequence."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from billing import Reactivate
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _subscribed_then_cancelled


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _stream(driver: Driver) -> list[dict[str, Any]]:
    return await driver.rows(
        "SELECT id, type, workspace_seq, occurred_at, payload FROM events WHERE workspace_id = :ws"
        " ORDER BY seq"
    )


def _told(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each event as (type, what it is about); invoices left out (collected in wall time), and
    the entitlement snapshots (their order is checked in tests/workflows/test_webhooks.py)."""

    def subject(e: dict[str, Any]) -> str:
        p = e["payload"]
        if e["type"].startswith("subscription."):
            return str(p["status"])
        return str(p.get("user_id") or p.get("id") or "")

    return [
        (e["type"], subject(e)) for e in events if not e["type"].startswith(("invoice.", "entitlements."))
    ]


async def test_cancel_revert_and_reactivate_are_told_in_order_and_once(driver: Driver) -> None:
    await _subscribed_then_cancelled(driver)
    await driver.advance_to(_t("2026-11-03T06:00:00"))
    await driver.advance_to(_t("2026-11-08T10:00:00"))
    await driver.update(Reactivate(request_id=request_id(), actor="alice"))
    await driver.pay_all()
    events = await _stream(driver)

    assert [e["workspace_seq"] for e in events] == list(range(1, len(events) + 1))
    assert len({e["id"] for e in events}) == len(events)
    assert events[0]["type"] == "subscription.created"
    told = _told(events)
    canceling = told.index(("subscription.updated", "canceling"))
    assert told[canceling:] == [
        ("subscription.updated", "canceling"),
        # The revert at the period end: the decision, then what the revert did to each object.
        ("subscription.updated", "free"),
        ("seat.unassigned", "alice"),
        ("seat.unassigned", "bob"),
        ("member.suspended", "bob"),
        ("member.suspended", "carol"),
        ("connection.deleted", "notion"),
        ("connection.deleted", "slack"),
        ("slack_bot.removed", ""),
        ("agent.deactivated", "support-bot"),
        ("data_source.deletion_scheduled", "handbook"),
        # The reactivation on day five.
        ("subscription.updated", "active"),
        ("seat.assigned", "alice"),
        ("seat.assigned", "bob"),
        ("member.restored", "bob"),
        ("member.restored", "carol"),
        ("agent.reactivated", "support-bot"),
        ("data_source.deletion_canceled", "handbook"),
    ]
    [scheduled] = [e for e in events if e["type"] == "data_source.deletion_scheduled"]
    assert scheduled["occurred_at"] == _t("2026-11-03T00:00:00")
    assert scheduled["payload"]["deletion_scheduled_at"] == "2026-11-10T00:00:00+00:00"
    assert {"invoice.posted", "invoice.paid"} <= {e["type"] for e in events}

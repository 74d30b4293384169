"""The outbound event rules (`billing.events`) and the trial-ending notice (rules 4), in
business words: which fact a consumer hears of, with what, and that it hears it once."""

from __future__ import annotations

from datetime import timedelta, timezone

from billing import SendEmail, new_subscription, next_deadline
from billing.events import (
    TIMELINE_TYPES,
    Payload,
    from_timeline,
    invoice_event,
    invoice_moves,
    member_view,
    seat_events,
    subscription_events,
)
from contracts.events import EVENT_TYPES
from tests.unit.billing_helpers import CREDITS, Driver, t

START = t(2026, 9, 15, 10)  # a 30-day credits trial: it ends Oct 15 10:00
TEAM = {"olga": "org_admin"}
ALICE = member_view("u-alice", "admin", "active", "alice@example.com", "standard", "monthly")


def _notices(d: Driver) -> list[tuple[object, object]]:
    return [(e.at, e.data["ends_at"]) for e in d.events if e.event == "trial_will_end"]


def _emails(d: Driver) -> list[SendEmail]:
    return [e for e in d.effects if isinstance(e, SendEmail) and e.template == "trial_ending"]


def test_every_type_the_rules_produce_is_a_public_type() -> None:
    assert set(TIMELINE_TYPES.values()) <= EVENT_TYPES
    moves = {f"invoice.{m}" for m in ("posted", "paid", "payment_failed", "overdue", "voided")}
    seats = {"seat.assigned", "seat.unassigned", "seat.changed"}
    assert moves | seats | {"subscription.created", "subscription.updated"} <= EVENT_TYPES


def test_a_trial_warns_its_billing_contact_three_days_before_it_ends_and_only_once() -> None:
    d = Driver(CREDITS, START, TEAM)
    d.tick(t(2026, 10, 12, 9))
    assert _notices(d) == []
    d.tick(t(2026, 10, 14))
    assert _notices(d) == [(t(2026, 10, 12, 10), "2026-10-15T10:00:00+00:00")]
    [email] = _emails(d)
    assert (email.to_role, email.data) == (
        "billing_contact",
        {"ends_at": "2026-10-15T10:00:00+00:00", "plan": None},
    )
    d.tick(t(2026, 10, 20))
    assert len(_notices(d)) == 1
    assert d.status == "trial_expired"


def test_the_notice_names_the_plan_chosen_during_the_trial() -> None:
    d = Driver(CREDITS, START, TEAM)
    d.run(t(2026, 9, 20), "select_plan", plan="solo")
    d.tick(t(2026, 10, 13))
    assert next(e.data for e in d.events if e.event == "trial_will_end")["plan"] == "solo"


def test_extending_the_trial_before_the_notice_moves_it() -> None:
    d = Driver(CREDITS, START, TEAM)
    d.run(t(2026, 10, 1), "extend_trial", days=10, actor="staff:sam")
    assert next_deadline(d.state) == t(2026, 10, 22, 10)
    d.tick(t(2026, 10, 24))
    assert _notices(d) == [(t(2026, 10, 22, 10), "2026-10-25T10:00:00+00:00")]


def test_extending_the_trial_after_the_notice_announces_the_new_end() -> None:
    d = Driver(CREDITS, START, TEAM)
    d.tick(t(2026, 10, 13))
    d.run(t(2026, 10, 14), "extend_trial", days=10, actor="staff:sam")
    d.tick(t(2026, 10, 23))
    assert [n[1] for n in _notices(d)] == ["2026-10-15T10:00:00+00:00", "2026-10-25T10:00:00+00:00"]


def test_a_trial_shorter_than_three_days_is_warned_at_once() -> None:
    short = CREDITS.model_copy(update={"trial_days": 2})
    d = Driver(short, START, TEAM)
    assert next_deadline(d.state) == START
    d.tick(START)
    assert _notices(d) == [(START, "2026-09-17T10:00:00+00:00")]


def test_a_subscription_on_rules_3_gets_no_notice() -> None:
    state = new_subscription("acme", CREDITS, START, rules=3).state
    assert next_deadline(state) == START + timedelta(days=30)


def test_member_facts_show_the_member_as_stored() -> None:
    added = from_timeline("member_added", START, "k1", {"user": "u-alice", "role": "admin"}, ALICE)
    assert added is not None
    assert (added.type, added.key, added.payload) == ("member.added", "k1", ALICE)
    removed = from_timeline("member_removed", START, "k2", {"user": "u-alice"}, ALICE)
    assert removed is not None
    assert removed.payload["status"] == "removed"
    assert removed.payload["email"] == "alice@example.com"


def test_revert_facts_name_the_object_and_its_new_status() -> None:
    data: Payload = {"data_source_id": "ds-big", "bytes": 60, "delete_at": "2026-03-08T00:00:00+00:00"}
    scheduled = from_timeline("data_source_deletion_warned", START, "k", data)
    assert scheduled is not None
    assert scheduled.type == "data_source.deletion_scheduled"
    assert scheduled.payload == {
        "id": "ds-big",
        "status": "active",
        "bytes": 60,
        "deletion_scheduled_at": "2026-03-08T00:00:00+00:00",
    }
    agent = from_timeline("agent_deactivated", START, "k", {"agent_id": "a-1"})
    assert agent is not None
    assert agent.payload == {"id": "a-1", "status": "deactivated"}
    gone = from_timeline("connection_deleted", START, "k", {"connection_id": "c-1"})
    assert gone is not None
    assert (gone.type, gone.payload["status"]) == ("connection.deleted", "deleted")


def test_internal_facts_are_not_published() -> None:
    assert from_timeline("revert_applied", START, "k", {}) is None
    assert from_timeline("period_renewed", START, "k", {}) is None


def test_seat_events_compare_what_was_held_with_what_is_set() -> None:
    before = {"bob": ("standard", "monthly"), "carol": ("standard", "monthly")}
    after = {"alice": ("pro", "monthly"), "bob": None, "carol": ("max", "annual"), "dave": None}
    events = seat_events(before, after, START, "v7", {"bob": "revert"})
    assert [(e.type, e.key) for e in events] == [
        ("seat.assigned", "v7:seat:alice"),
        ("seat.unassigned", "v7:seat:bob"),
        ("seat.changed", "v7:seat:carol"),
    ]
    assert events[1].payload == {
        "user_id": "bob",
        "seat_type": "standard",
        "cycle": "monthly",
        "reason": "revert",
    }
    assert events[2].payload["previous_seat_type"] == "standard"
    assert seat_events(after, after, START, "v8") == []  # written again: nothing moved


def _projection(version: int, **fields: object) -> dict[str, object]:
    base: dict[str, object] = {"status": "trialing", "plan": None, "period_start": None, "version": version}
    return {**base, **fields}


def test_the_first_projection_creates_the_subscription_and_a_change_updates_it() -> None:
    [created] = subscription_events(None, _projection(1), 1, START)
    assert (created.type, created.key, created.payload["status"]) == (
        "subscription.created",
        "subscription:created",
        "trialing",
    )
    new = _projection(2, status="active", plan="solo", period_start=START)
    [updated] = subscription_events(_projection(1), new, 2, START)
    assert (updated.type, updated.key) == ("subscription.updated", "subscription:v2")
    assert updated.payload["previous"] == {"status": "trialing", "plan": None, "period_start": None}
    assert updated.payload["period_start"] == START.isoformat()


def test_no_update_without_a_change_nor_from_a_stale_write() -> None:
    assert subscription_events(_projection(1), _projection(2, paid_seats=3), 2, START) == []
    assert subscription_events(_projection(5), _projection(4, status="active"), 4, START) == []


def test_invoice_moves_are_public_once_per_invoice_and_move() -> None:
    assert invoice_moves(None, "unpaid") == ["posted"]
    assert invoice_moves(None, "paid") == ["posted", "paid"]  # a zero total
    assert invoice_moves("unpaid", "overdue") == ["overdue"]
    assert invoice_moves("overdue", "void") == ["voided"]
    assert invoice_moves("paid", "paid") == []
    invoice = {"number": "acme-00001", "total": 3100, "issued_at": START}
    assert invoice_event("paid", invoice, START).key == "invoice:acme-00001:paid"
    failed = invoice_event("payment_failed", invoice, START, attempt=2)
    assert (failed.type, failed.key) == ("invoice.payment_failed", "invoice:acme-00001:payment_failed:2")
    assert failed.payload["issued_at"] == START.isoformat()


def test_the_same_instant_in_another_zone_is_no_change() -> None:
    paris = timezone(timedelta(hours=1))
    stored = _projection(1, period_start=START.astimezone(paris))
    assert subscription_events(stored, _projection(2, period_start=START), 2, START) == []

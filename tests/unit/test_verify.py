"""The invariant checker's comparisons (`services.verify`), on values: no server needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from services.verify import (
    StripeInvoiceSeen,
    Violation,
    charges,
    commands_vs_state,
    event_gaps,
    unsent_email,
    webhook_deliveries,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
GRACE = timedelta(minutes=2)


def _messages(found: Sequence[Violation]) -> list[str]:
    return [v.message for v in found]


def test_audited_commands_must_be_remembered_and_remembered_ones_audited() -> None:
    audit = [(1, "r1", "assign_seat"), (2, "r2", "cancel"), (3, "void-1", "void_invoice")]
    assert commands_vs_state("ws", audit, ["r1", "r2"]) == []
    assert _messages(commands_vs_state("ws", audit, ["r1"])) == ["audited command r2 is not in the workflow"]
    assert _messages(commands_vs_state("ws", audit[:1], ["r1", "r9"])) == [
        "command r9 applied but not audited"
    ]


def test_a_full_window_only_checks_what_it_can_still_remember() -> None:
    audit = [
        (1, "old", "assign_seat"),
        (2, "r2", "assign_seat"),
        (3, "r3", "assign_seat"),
        (4, "r4", "cancel"),
    ]
    # The window holds 2: "old" was forgotten legitimately, "r4" is lost.
    assert _messages(commands_vs_state("ws", audit, ["r2", "r3"], window=2)) == [
        "audited command r4 is not in the workflow"
    ]


def test_charges_at_most_once_and_paid_ones_exactly_once_in_full() -> None:
    paid = [StripeInvoiceSeen("in_1", "A", "paid", 100), StripeInvoiceSeen("in_2", "A", "paid", 100)]
    ours = [("A", "paid", 100, "in_1"), ("B", "paid", 50, "in_3"), ("C", "paid", 70, "in_4")]
    seen = [*paid, StripeInvoiceSeen("in_3", "B", "open", 0), StripeInvoiceSeen("in_4", "C", "paid", 60)]
    assert _messages(charges("ws", ours, seen)) == [
        "invoice A is paid 2 times at Stripe",
        "invoice B is paid in Tenure, not at Stripe",
        "invoice C total 70, Stripe collected 60",
    ]
    assert _messages(
        charges("ws", [("D", "open", 10, None)], [StripeInvoiceSeen("in_5", "D", "paid", 10)])
    ) == ["invoice D is paid at Stripe, open in Tenure"]
    assert charges("ws", [("A", "paid", 100, "in_1")], paid[:1]) == []


def test_event_sequences_are_gapless_and_unique() -> None:
    assert event_gaps("ws", [1, 2, 3]) == []
    assert event_gaps("ws", []) == []
    assert _messages(event_gaps("ws", [1, 2, 2, 5])) == [
        "sequence 2 appears 2 times",
        "2 sequence numbers missing: 3, 4",
    ]


def test_an_email_is_lost_only_once_its_grace_is_over() -> None:
    rows = [
        ("sent", NOW - timedelta(hours=1), True, False),
        ("refused", NOW - timedelta(hours=1), False, True),
        ("fresh", NOW - timedelta(seconds=30), False, False),
        ("stuck", NOW - timedelta(hours=1), False, False),
    ]
    assert _messages(unsent_email("ws", rows, NOW, GRACE)) == [
        "e-mail stuck not sent since 2026-03-01 11:00:00"
    ]


def test_webhooks_delivered_once_to_each_active_subscriber() -> None:
    old, new = NOW - timedelta(hours=1), NOW - timedelta(seconds=5)
    endpoints = [
        ("we_all", "active", [], 10),
        ("we_inv", "active", ["invoice.paid"], 0),
        ("we_off", "disabled", [], 0),
    ]
    events = [
        ("ev_a", "seat.assigned", 9, old),
        ("ev_b", "invoice.paid", 11, old),
        ("ev_c", "seat.assigned", 12, new),
    ]
    delivered = [("we_all", "ev_b", 2)]
    assert _messages(webhook_deliveries("ws", endpoints, events, delivered, NOW, GRACE)) == [
        "event ev_b delivered 2 times to we_all",
        "event ev_b never delivered to we_inv",
    ]

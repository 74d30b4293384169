"""Verbs the examples do not show: a new card during dunning, acting members, deletion."""

from __future__ import annotations

from simulate.runner import simulate
from simulate.scenario import parse_scenario
from simulate.stack import Stack

WORKSPACE = """\
catalog: seats
start: 2026-09-03T09:00:00Z
end: 2026-09-20T00:00:00Z
workspace:
  id: acme
  card: declined
  members:
    - {user: alice, role: admin, role_granted_at: 2026-01-05T00:00:00Z}
    - {user: carol, role: member}
  agents: [support-bot]
steps:
  - at: 2026-09-03T09:00:00Z
    assign_seat: {user: alice, type: pro}
"""


async def test_a_new_card_during_dunning_pays_at_once(stack: Stack) -> None:
    steps = "  - at: 2026-09-05T12:00:00Z\n    payment_method: {card: ok}\n"
    doc = await simulate(parse_scenario(WORKSPACE + steps), stack, stable=True)
    assert [(i["total"], i["status"]) for i in doc["invoices"]] == [(3000, "paid")]
    failed = [e["at"] for e in doc["timeline"] if e["event"] == "payment_failed"]
    paid = [e["at"] for e in doc["timeline"] if e["event"] == "invoice_paid"]
    assert failed == ["2026-09-03T10:00:00Z"]
    assert paid == ["2026-09-05T12:00:00Z"]  # retried at once, not at the day-5 retry
    assert doc["final"]["status"] == "active"


async def test_a_member_without_the_admin_role_is_refused_and_the_run_goes_on(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-04T00:00:00Z\n    as: carol\n    assign_seat: {user: carol, type: max}\n"
        "  - at: 2026-09-05T00:00:00Z\n    as: staff\n    assign_seat: {user: carol, type: max}\n"
        "  - at: 2026-09-06T00:00:00Z\n    delete_workspace:\n"
        "  - at: 2026-09-07T00:00:00Z\n    reactivate:\n"
    )
    doc = await simulate(parse_scenario(WORKSPACE.replace("declined", "ok") + steps), stack, stable=True)
    assert [(r["step"], r["line"], r["error"]) for r in doc["rejected"]] == [
        ("assign_seat", 14, "forbidden"),
        ("reactivate", 22, "not_found"),  # the subscription ended with the workspace
    ]
    assert [e["user"] for e in doc["timeline"] if e["event"] == "seat_assigned"] == ["alice", "carol"]
    assert "workspace_deleted" in {e["event"] for e in doc["timeline"]}
    assert doc["final"]["status"] == "deleted"
    assert doc["final"]["members"] == []
    assert [i["status"] for i in doc["invoices"]][:1] == ["paid"]  # invoices are kept


async def test_every_command_has_its_verb_removing_a_member_and_clearing_a_cancellation(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-04T00:00:00Z\n    remove_member: {user: carol}\n"
        "  - at: 2026-09-05T00:00:00Z\n    cancel: {reason: budget}\n"
        "  - at: 2026-09-06T00:00:00Z\n    clear_cancellation:\n"
        "  - at: 2026-09-07T00:00:00Z\n    extend_trial: {days: 3}\n"
    )
    doc = await simulate(parse_scenario(WORKSPACE.replace("declined", "ok") + steps), stack, stable=True)
    events = [e["event"] for e in doc["timeline"]]
    assert (
        events.index("member_removed")
        < events.index("cancel_requested")
        < events.index("cancellation_cleared")
    )
    # Staff act for a support verb; a paid subscription has no trial to extend.
    assert [(r["step"], r["error"]) for r in doc["rejected"]] == [("extend_trial", "not_allowed_in_status")]
    assert doc["final"]["status"] == "active"
    assert [m["user"] for m in doc["final"]["members"]] == ["alice"]

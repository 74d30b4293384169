"""The end of what is paid, told as stories through `tenure simulate` (SPEC §1.1, §2): the real
workflows, activities, database and Stripe emulator. Amounts worked by hand in the comments."""

from __future__ import annotations

from typing import Any

from simulate.runner import simulate
from simulate.scenario import parse_scenario
from simulate.stack import Stack

SEATS_WORKSPACE = """\
catalog: seats
start: 2026-09-03T09:00:00Z
end: {end}
workspace:
  id: acme
  members:
    - {{user: alice, role: admin, role_granted_at: 2026-01-05T00:00:00Z}}
    - {{user: bob, role: admin, role_granted_at: 2026-02-01T00:00:00Z}}
    - {{user: carol, role: member}}
  connections: [notion]
  data_sources: [{{id: handbook, bytes: 80000000}}]
  agents: [support-bot]
  slack_bot: true
steps:
"""


async def _run(stack: Stack, text: str) -> dict[str, Any]:
    return await simulate(parse_scenario(text), stack, stable=True)


def _events(doc: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in doc["timeline"] if e["event"] == name]


def _untouched(doc: dict[str, Any]) -> None:
    final = doc["final"]
    assert {m["status"] for m in final["members"]} == {"active"}
    assert [c["status"] for c in final["connections"]] == ["active"]
    assert [(d["status"], d.get("deleted_at")) for d in final["data_sources"]] == [("active", None)]
    assert [a["status"] for a in final["agents"]] == ["active"]
    removals = ("member_suspended", "connection_deleted", "agent_deactivated", "data_source_deletion_warned")
    assert [e for e in doc["timeline"] if e["event"] in removals] == []


async def test_an_annual_seat_in_the_stock_keeps_a_paying_workspace_whole(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: annual}\n"
        "  - at: 2026-09-10T00:00:00Z\n    unassign_seat: {user: alice}\n"
        "  - at: 2026-10-05T00:00:00Z\n    assign_seat: {user: bob, type: pro, cycle: annual}\n"
    )
    doc = await _run(stack, SEATS_WORKSPACE.format(end="2026-12-10T00:00:00Z") + steps)
    assert doc["rejected"] == []
    # One year of one annual pro seat (30000), paid once; the stock seat is reassigned free.
    assert [(i["total"], i["status"]) for i in doc["invoices"]] == [(30000, "paid")]
    assert doc["final"]["status"] == "active"
    assert _events(doc, "reverted_to_free") == []
    _untouched(doc)


async def test_cancelling_with_an_annual_seat_runs_to_its_term_end(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: annual}\n"
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: bob, type: pro, cycle: monthly}\n"
        "  - at: 2026-10-10T00:00:00Z\n    cancel: {reason: budget}\n"
    )
    doc = await _run(stack, SEATS_WORKSPACE.format(end="2027-01-10T00:00:00Z") + steps)
    # Checkout: 30000 (alice's year) + 3000 (bob's September); October's 3000; then nothing.
    assert [i["total"] for i in doc["invoices"]] == [33000, 3000]
    [cancel] = _events(doc, "cancel_requested")
    assert cancel["cancel_at"] == "2027-09-03T00:00:00Z"
    assert doc["final"]["status"] == "canceling"
    assert doc["final"]["overview"]["cancel_at"] == "2027-09-03T00:00:00Z"
    _untouched(doc)  # nothing is deleted while the year is paid


async def test_a_credits_workspace_keeps_everything_when_its_paid_life_ends(stack: Stack) -> None:
    scenario = """\
catalog: credits
start: 2026-09-15T10:00:00Z
end: 2026-12-20T00:00:00Z
workspace:
  id: acme
  members:
    - {user: olga, role: org_admin}
    - {user: ed, role: editor}
  connections: [notion]
  data_sources: [{id: handbook, bytes: 80000000}]
  agents: [support-bot]
  slack_bot: true
steps:
  - at: 2026-09-25T00:00:00Z
    select_plan: {plan: starter}
  - at: 2026-11-10T00:00:00Z
    cancel: {reason: budget}
"""
    doc = await simulate(parse_scenario(scenario), stack, stable=True)
    assert doc["final"]["status"] == "canceled"
    assert [e["reason"] for e in _events(doc, "canceled")] == ["canceled"]
    _untouched(doc)
    assert _events(doc, "slack_bot_removed") == []


async def test_a_trial_cancelled_after_choosing_a_plan_bills_nothing(stack: Stack) -> None:
    scenario = """\
catalog: credits
start: 2026-09-15T10:00:00Z
end: 2026-12-20T00:00:00Z
workspace:
  id: acme
  members:
    - {user: olga, role: org_admin}
steps:
  - at: 2026-09-20T00:00:00Z
    select_plan: {plan: solo}
  - at: 2026-10-01T00:00:00Z
    cancel: {reason: not for us}
"""
    doc = await simulate(parse_scenario(scenario), stack, stable=True)
    assert doc["rejected"] == []
    assert doc["invoices"] == []
    assert doc["final"]["status"] == "trial_expired"


async def test_the_default_actor_follows_the_roster(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro}\n"
        "  - at: 2026-09-04T00:00:00Z\n    set_role: {user: alice, role: member}\n"
        "  - at: 2026-09-05T00:00:00Z\n    assign_seat: {user: carol, type: pro}\n"
    )
    doc = await _run(stack, SEATS_WORKSPACE.format(end="2026-09-06T00:00:00Z") + steps)
    # After alice's demotion bob is the earliest-granted admin, and acts for the third step.
    assert doc["rejected"] == []
    assert [e["user"] for e in _events(doc, "seat_assigned")] == ["alice", "carol"]


CREDITS_WORKSPACE = """\
catalog: credits
start: 2026-09-15T10:00:00Z
end: {end}
workspace:
  id: acme
  members:
    - {{user: olga, role: org_admin}}
    - {{user: ed, role: viewer}}
steps:
  - at: 2026-09-25T00:00:00Z
    select_plan: {{plan: solo}}
"""


async def test_a_reactivation_after_a_failed_payment_bills_no_day_twice(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: annual}\n"
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: bob, type: pro, cycle: monthly}\n"
        "  - at: 2026-09-20T00:00:00Z\n    payment_method: {card: declined}\n"
        "  - at: 2026-10-20T09:00:00Z\n    payment_method: {card: ok}\n"
        "  - at: 2026-10-20T09:30:00Z\n    reactivate:\n"
    )
    doc = await _run(stack, SEATS_WORKSPACE.format(end="2026-12-01T00:00:00Z") + steps)
    assert doc["rejected"] == []
    # Sep 3: alice's year (30000) + bob's September (3000). Oct 3: bob's October (3000), never
    # collected: the workspace reverts on Oct 10, that invoice stays owed. The reactivation on
    # Oct 20 bills nothing then (alice's year and bob's October are billed); Nov 3 bob's billed
    # days end: Nov 3-19 is 17 of the new period's 31 days, 1645, with his next period (3000)
    # on Nov 20.
    assert [i["total"] for i in doc["invoices"]] == [33000, 3000, 4645]
    [nov20] = [i for i in doc["invoices"] if i["issued_at"].startswith("2026-11-20")]
    assert [(ln["kind"], ln["amount"]) for ln in nov20["lines"]] == [("seat", 3000), ("seat_proration", 1645)]
    assert [e["at"][:10] for e in _events(doc, "reverted_to_free")] == ["2026-10-10"]
    assert doc["final"]["status"] == "active"


async def test_an_annual_seat_downgrade_is_scheduled_for_its_term_end(stack: Stack) -> None:
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: max, cycle: annual}\n"
        "  - at: 2026-10-10T00:00:00Z\n    change_seat: {user: alice, type: pro}\n"
    )
    doc = await _run(stack, SEATS_WORKSPACE.format(end="2026-11-10T00:00:00Z") + steps)
    [scheduled] = _events(doc, "downgrade_scheduled")
    assert scheduled["effective_at"] == "2027-09-03T00:00:00Z"
    assert [i["total"] for i in doc["invoices"]] == [102000]
    seats = doc["final"]["overview"]["paid_seats"]
    assert [(s["seat_type"], s["cycle"], s["count"]) for s in seats] == [("max", "annual", 1)]


async def test_a_scheduled_contract_is_never_dropped(stack: Stack) -> None:
    steps = (
        "  - at: 2026-11-10T00:00:00Z\n    cancel: {reason: moving to a contract}\n"
        "  - at: 2026-11-12T00:00:00Z\n    set_contract: {plan: pro, price: 500000, "
        "starts_at: 2026-12-01T00:00:00Z, ends_at: 2027-12-01T00:00:00Z}\n"
        "  - at: 2026-11-20T00:00:00Z\n    change_plan: {plan: starter}\n"
        "  - at: 2026-11-21T00:00:00Z\n    cancel: {reason: changed my mind}\n"
    )
    doc = await _run(stack, CREDITS_WORKSPACE.format(end="2026-12-02T00:00:00Z") + steps)
    assert [(r["step"], r["error"]) for r in doc["rejected"]] == [
        ("change_plan", "contract_scheduled"),
        ("cancel", "contract_scheduled"),
    ]
    assert [e["at"][:10] for e in _events(doc, "cancellation_cleared")] == ["2026-11-12"]
    assert doc["final"]["status"] == "active"
    assert doc["final"]["plan"] == "pro"
    contract = [i for i in doc["invoices"] if any(ln["kind"] == "contract" for ln in i["lines"])]
    assert [i["total"] for i in contract] == [500000]


async def test_deleting_a_credits_workspace_mid_month_bills_the_used_part(stack: Stack) -> None:
    steps = (
        "  - at: 2026-11-05T00:00:00Z\n    usage: {events: [{id: big, kind: asset_materialization, "
        "partitions: 9000}, {id: compute, kind: serverless_minutes, minutes: 50}]}\n"
        "  - at: 2026-11-16T09:00:00Z\n    delete_workspace:\n"
    )
    doc = await _run(stack, CREDITS_WORKSPACE.format(end="2026-11-20T00:00:00Z") + steps)
    final = doc["invoices"][-1]
    # Nov 1-15 of solo: 15/30 of 1000 = 500; included 15/30 of 7500 = 3750 credits, so 5250
    # over at 4 = 21000; 50 serverless minutes at 1.
    assert (final["issued_at"], final["total"]) == ("2026-11-16T09:00:00Z", 21550)
    assert [(ln["kind"], ln["quantity"], ln["amount"]) for ln in final["lines"]] == [
        ("plan_proration", 1, 500),
        ("credits_overage", 5250, 21000),
        ("serverless_minutes", 50, 50),
    ]
    assert doc["final"]["status"] == "deleted"


async def test_the_overview_warns_from_the_first_failed_payment(stack: Stack) -> None:
    steps = "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro}\n"
    workspace = SEATS_WORKSPACE.format(end="2026-09-04T00:00:00Z")
    text = workspace.replace("  id: acme\n", "  id: acme\n  card: declined\n")
    doc = await _run(stack, text + steps)
    # Issued Sep 3 09:00, the first attempt failed: retries 3, 5 and 7 days after issue.
    [number] = [i["number"] for i in doc["invoices"]]
    assert f"Payment failed: invoice {number} could not be collected. Next attempt on 2026-09-06." in (
        doc["final"]["overview"]["warnings"]
    )


async def test_days_owed_at_a_revert_are_not_billed_again_after_a_second_revert(stack: Stack) -> None:
    """Rules 5. A card that always declines: alice's monthly seat (3000, Sep 3 - Oct 3) is never
    paid, the final failure reverts the workspace on Sep 10; her annual seat then (30000) is
    never paid either, reverted on Sep 17 (each retry 3, 5, 7 days after issue). Her monthly
    seat again on Sep 17: Sep 17 - Oct 3 is still owed on the first invoice, so nothing is
    charged now; the rest of her first period, Oct 3 - 17, is 14 of 30 days:
    round_half_up(14 / 30 * 3000) = 1400, on the Oct 17 invoice with the next month (3000)."""
    text = SEATS_WORKSPACE.format(end="2026-10-18T00:00:00Z").replace(
        "  id: acme\n", "  id: acme\n  card: declined\n"
    )
    steps = (
        "  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: monthly}\n"
        "  - at: 2026-09-10T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: annual}\n"
        "  - at: 2026-09-17T09:00:00Z\n    assign_seat: {user: alice, type: pro, cycle: monthly}\n"
    )
    doc = await _run(stack, text + steps)
    assert doc["rejected"] == []
    assert [i["total"] for i in doc["invoices"]] == [3000, 30000, 4400]
    assert len(_events(doc, "reverted_to_free")) == 2
    assert doc["final"]["status"] in {"active", "past_due"}

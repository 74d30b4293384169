"""The end of what is paid (SPEC §1.1, §1.4, §2): annual terms, stock, trials, contracts,
catalogs without a free tier, and the final invoice of a deletion. Amounts worked by hand."""

from __future__ import annotations

import pytest

from billing import (
    DomainError,
    ReactivateWorkspace,
    RevertWorkspace,
    UsageTotals,
    on_invoice_event,
    remember_revert,
    seats_held,
)
from billing.periods import Period
from billing.state import CURRENT_RULES
from billing.workspace import RevertPlan
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t

SEATS_TEAM = {"alice": "admin", "bob": "member", "carol": "member"}
CREDITS_TEAM = {"olga": "org_admin", "ed": "viewer"}


def lines(invoice_index: int, d: Driver) -> list[tuple[str, int, int]]:
    return [(ln.kind, ln.quantity, ln.amount) for ln in d.invoices[invoice_index].lines]


def test_an_annual_seat_waiting_in_stock_keeps_the_workspace_paid() -> None:
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="annual")
    d.run(t(2026, 9, 10), "unassign_seat", user="alice")  # no refund: the seat goes to stock
    d.tick(t(2026, 10, 3, 1))
    assert d.status == "active"  # the period ended with a paid seat in stock
    assert "reverted_to_free" not in d.event_names()
    d.run(t(2026, 10, 5), "assign_seat", user="bob", type="pro", cycle="annual")
    assert seats_held(d.state)["bob"].cycle == "annual"
    d.tick(t(2027, 9, 2))
    assert [inv.total for inv in d.invoices] == [30000]  # the stock seat is never charged again
    assert d.status == "active"


def test_cancelling_with_an_annual_seat_runs_to_the_end_of_its_term() -> None:
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="annual")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro", cycle="monthly")
    d.run(t(2026, 10, 10), "cancel", reason="budget")
    assert d.state.cancel_at == t(2027, 9, 3)  # the end of the annual term, not Nov 3
    d.tick(t(2026, 11, 3, 1))
    assert d.status == "canceling"
    assert set(seats_held(d.state)) == {"alice"}  # the monthly seat ended with October's period
    d.tick(t(2027, 9, 2))
    assert d.status == "canceling"
    # Checkout 30000 + 3000, then October's monthly seat; nothing after the cancellation.
    assert [inv.total for inv in d.invoices] == [33000, 3000]
    d.tick(t(2027, 9, 3, 1))
    assert d.status == "free"
    assert [inv.total for inv in d.invoices] == [33000, 3000]


def test_reactivating_before_the_annual_term_ends_bills_none_of_its_days_again() -> None:
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM, autopay=False)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="annual")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro", cycle="monthly")
    d.tick(t(2026, 9, 3, 10))
    d.state = on_invoice_event(d.state, d.invoices[0].number, "paid", t(2026, 9, 3, 10), SEATS).state
    d.tick(t(2026, 10, 3, 1))  # October's 3000 is never paid: the workspace reverts
    decision = on_invoice_event(d.state, d.invoices[-1].number, "final_failure", t(2026, 10, 10), SEATS)
    d.state = decision.state
    assert d.status == "free"
    d.autopay = True
    d.run(t(2026, 10, 20, 9), "reactivate")
    d.tick(t(2026, 10, 20, 11))
    # Nothing is billed now: alice's year is billed, and so is bob's October period (its
    # invoice stays owed) up to Nov 3.
    assert len(d.invoices) == 2
    # Nov 3, bob's billed days end: Nov 3 - 19 is 17 of the new period's 31 days,
    # round_half_up(17 / 31 * 3000) = 1645, on the Nov 20 invoice with bob's next period.
    d.tick(t(2026, 11, 20, 1))
    assert lines(-1, d) == [("seat", 1, 3000), ("seat_proration", 1, 1645)]
    d.tick(t(2027, 9, 19))
    assert all(inv.total == 3000 for inv in d.invoices[3:])
    # Sep 3 2027 the paid year ends: Sep 3 - Oct 19 2027 is 47 of the new term's 365 days,
    # round_half_up(47 / 365 * 30000) = 3863, on the next monthly invoice (Sep 20).
    d.tick(t(2027, 9, 20, 1))
    assert lines(-1, d) == [("seat", 1, 3000), ("seat_proration", 1, 3863)]
    d.tick(t(2027, 10, 20, 1))  # the new anchor's second term: the whole year again
    assert lines(-1, d) == [("seat", 1, 30000), ("seat", 1, 3000)]
    annual_billed = sum(ln.amount for inv in d.invoices for ln in inv.lines if "annual" in ln.description)
    assert annual_billed == 30000 + 3863 + 30000


def test_an_annual_seat_downgrade_waits_for_the_end_of_its_term() -> None:
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="max", cycle="annual")
    decision = d.run(t(2026, 10, 10), "change_seat", user="alice", type="pro")
    assert decision.result is not None
    assert decision.result.effective_at == t(2027, 9, 3)
    d.tick(t(2026, 11, 3, 1))
    assert seats_held(d.state)["alice"].seat_type == "max"
    d.tick(t(2027, 9, 3, 1))
    assert seats_held(d.state)["alice"].seat_type == "pro"
    assert [inv.total for inv in d.invoices] == [102000, 30000]


def test_a_catalog_without_a_free_plan_keeps_everything_at_the_end_of_paid_life() -> None:
    d = Driver(CREDITS, t(2026, 9, 15, 10), CREDITS_TEAM)
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    d.run(t(2026, 11, 3), "cancel", reason="x")
    d.tick(t(2026, 12, 1))
    assert d.status == "canceled"
    assert not any(isinstance(e, RevertWorkspace) for e in d.effects)
    assert all(m.status == "active" for m in d.state.members.values())
    d.run(t(2026, 12, 5), "select_plan", plan="solo")  # selecting a plan resubscribes
    assert d.status == "active"
    assert "reactivated" not in d.event_names()  # nothing was taken away


def test_cancelling_during_a_trial_clears_the_plan_and_bills_nothing() -> None:
    d = Driver(CREDITS, t(2026, 9, 15, 10), CREDITS_TEAM)
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    decision = d.run(t(2026, 10, 1), "cancel", reason="not for us")
    assert decision.result is not None
    assert decision.result.effective_at == t(2026, 10, 15, 10)
    assert d.state.trial is not None
    assert d.state.trial.selected_plan is None
    d.tick(t(2027, 1, 1))
    assert d.status == "trial_expired"
    assert d.invoices == []


def _credits_with_contract_scheduled(cancel_first: bool) -> Driver:
    d = Driver(CREDITS, t(2026, 9, 15, 10), CREDITS_TEAM)
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    if cancel_first:
        d.run(t(2026, 11, 10), "cancel", reason="moving to a contract")
    d.run(
        t(2026, 11, 12),
        "set_contract",
        actor="staff:sam",
        plan="pro",
        starts_at=t(2026, 12, 1),
        ends_at=t(2027, 12, 1),
        price=500_000,
    )
    return d


def test_a_contract_set_on_a_canceling_workspace_clears_the_cancellation() -> None:
    d = _credits_with_contract_scheduled(cancel_first=True)
    assert (d.status, d.state.cancel_at) == ("active", None)
    assert d.event_names()[-2:] == ["cancellation_cleared", "contract_scheduled"]
    d.tick(t(2026, 12, 1, 2))
    assert (d.status, d.state.plan) == ("active", "pro")
    assert lines(-1, d) == [("contract", 1, 500_000)]


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("change_plan", {"plan": "starter"}),
        ("select_plan", {"plan": "solo"}),
        ("cancel", {"actor": "olga"}),
    ],
)
def test_self_serve_changes_are_refused_while_a_contract_is_scheduled(
    kind: str, fields: dict[str, object]
) -> None:
    d = _credits_with_contract_scheduled(cancel_first=False)
    before = d.state
    with pytest.raises(DomainError) as info:
        d.run(t(2026, 11, 20), kind, **fields)
    assert info.value.code == "contract_scheduled"
    assert d.state == before


def test_support_staff_cancelling_drops_the_scheduled_contract_on_record() -> None:
    d = _credits_with_contract_scheduled(cancel_first=False)
    d.run(t(2026, 11, 20), "cancel", actor="staff:sam", reason="customer left")
    assert d.state.next_contract is None
    assert "contract_unscheduled" in d.event_names()
    d.tick(t(2026, 12, 1, 2))
    assert d.status == "canceled"


def test_deleting_a_credits_workspace_mid_month_bills_the_used_part() -> None:
    window = Period(start=t(2026, 11, 1), end=t(2026, 11, 16, 9))
    d = Driver(
        CREDITS, t(2026, 9, 15, 10), CREDITS_TEAM, {window: UsageTotals(credits=9000, serverless_minutes=50)}
    )
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    d.tick(t(2026, 11, 1))
    posted = len(d.invoices)
    d.run(t(2026, 11, 16, 9), "delete_workspace", confirm="acme")
    assert d.status == "deleted"
    assert len(d.invoices) == posted + 1
    final = d.invoices[-1]
    # Nov 1-15: 15/30 of 1000 = 500; included 15/30 of 7500 = 3750 credits, 5250 over at 4;
    # 50 serverless minutes at 1.
    assert lines(-1, d) == [
        ("plan_proration", 1, 500),
        ("credits_overage", 5250, 21000),
        ("serverless_minutes", 50, 50),
    ]
    assert (final.issued_at, final.total) == (t(2026, 11, 16, 9), 21550)


def test_a_subscription_on_the_rules_of_before_keeps_its_recorded_decisions() -> None:
    """A state carried from a run recorded before rules 2 decides as it did then, so that
    replaying that run issues the same activities (the workflow moves it on behind
    ``workflow.patched``); a new subscription decides by today's rules."""
    d = Driver(CREDITS, t(2026, 9, 15, 10), CREDITS_TEAM)
    assert d.state.rules == CURRENT_RULES
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    d.state = d.state.model_copy(update={"rules": 1})
    d.run(t(2026, 11, 3), "cancel", reason="x")
    d.tick(t(2026, 12, 1))
    assert d.status == "canceled"
    assert [e.reason for e in d.effects if isinstance(e, RevertWorkspace)] == ["canceled"]


def test_a_reactivation_restores_what_the_state_remembers_of_the_revert() -> None:
    """One roster: who comes back is the subscription's (a member removed since the revert
    stays out) and so are the agents the applied revert deactivated."""
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 10), "cancel", reason="x")
    d.tick(t(2026, 10, 3, 1))
    assert d.status == "free"
    [revert] = [e for e in d.effects if isinstance(e, RevertWorkspace)]
    assert (revert.kept_member, revert.suspended_members) == ("alice", ("bob", "carol"))
    plan = RevertPlan(
        workspace_id="acme",
        at=revert.at,
        kept_member_ids=["alice"],
        suspended_member_ids=["bob", "carol"],
        previous_seats=[],
        deleted_connection_ids=[],
        remove_slack_bot=False,
        deactivated_agent_ids=["support-bot"],
        scheduled_deletions=[],
        warning_email=None,
        limit_violations=[],
    )
    d.state = remember_revert(d.state, plan)
    d.run(t(2026, 10, 5), "remove_member", user="carol")
    d.run(t(2026, 10, 6), "reactivate")
    [back] = [e for e in d.effects if isinstance(e, ReactivateWorkspace)]
    assert (back.restored_members, back.restored_agents) == (("bob",), ("support-bot",))
    assert d.state.deactivated_agents == ()


def _reverted_by_dunning(rules: int = CURRENT_RULES) -> Driver:
    """Sep 3: alice (monthly) and bob (annual) check out, 33000 never paid: on Sep 10 the
    final failure reverts the workspace (the invoice stays owed), alice keeps access."""
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM, autopay=False)
    d.state = d.state.model_copy(update={"rules": rules})
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro", cycle="annual")
    d.tick(t(2026, 9, 3, 10))
    assert [inv.total for inv in d.invoices] == [33000]
    d.state = on_invoice_event(d.state, d.invoices[0].number, "final_failure", t(2026, 9, 10), SEATS).state
    assert d.status == "free"
    d.autopay = True
    return d


def test_reassigning_an_annual_seat_after_a_dunning_revert_bills_none_of_its_days_again() -> None:
    """Sep 12: alice's seat is the checkout of a new paid life (Sep 12 anchor), then bob is
    given his annual seat back. Both were billed on the owed invoice (alice to Oct 3, bob to
    Sep 3 2027): neither is charged again now, as a reactivation would not charge them."""
    d = _reverted_by_dunning()
    d.run(t(2026, 9, 12, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 12, 9), "assign_seat", user="bob", type="pro", cycle="annual")
    d.tick(t(2026, 9, 12, 11))
    assert [inv.total for inv in d.invoices] == [33000]
    assert {s.user: s.cycle for s in seats_held(d.state).values()} == {"alice": "monthly", "bob": "annual"}
    d.tick(t(2027, 9, 2))
    assert not [ln for inv in d.invoices[1:] for ln in inv.lines if "annual" in ln.description]
    # Sep 3 2027 bob's billed year ends: Sep 3 - 11 2027 is 9 of the new term's 365 days,
    # round_half_up(9 / 365 * 30000) = 740, on the next invoice: Sep 12 2027, which opens the
    # new anchor's second term (the whole year again).
    d.tick(t(2027, 9, 12, 1))
    assert sorted(lines(-1, d)) == [("seat", 1, 3000), ("seat", 1, 30000), ("seat_proration", 1, 740)]
    annual_billed = sum(ln.amount for inv in d.invoices for ln in inv.lines if "annual" in ln.description)
    assert annual_billed == 30000 + 740 + 30000


def test_on_the_rules_of_before_a_reassigned_annual_seat_is_charged_its_new_term() -> None:
    """Rules 2 (runs recorded before rules 3) charged bob's seat a whole new term."""
    d = _reverted_by_dunning(rules=2)
    d.run(t(2026, 9, 12, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 12, 9), "assign_seat", user="bob", type="pro", cycle="annual")
    d.tick(t(2026, 9, 12, 11))
    assert [inv.total for inv in d.invoices] == [33000, 30000]


def _two_unpaid_lives(rules: int = CURRENT_RULES) -> Driver:
    """Sep 3: alice's monthly seat (3000, billed to Oct 3) is never paid: the final failure
    reverts the workspace on Sep 10. Sep 10: she checks out an annual seat instead (30000),
    never paid either: reverted on Sep 17. The first invoice stays owed all along."""
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM, autopay=False)
    d.state = d.state.model_copy(update={"rules": rules})
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.tick(t(2026, 9, 3, 10))
    d.state = on_invoice_event(d.state, d.invoices[0].number, "final_failure", t(2026, 9, 10), SEATS).state
    d.run(t(2026, 9, 10, 9), "assign_seat", user="alice", type="pro", cycle="annual")
    d.tick(t(2026, 9, 10, 10))
    d.state = on_invoice_event(d.state, d.invoices[1].number, "final_failure", t(2026, 9, 17), SEATS).state
    assert [inv.total for inv in d.invoices] == [3000, 30000]
    assert d.status == "free"
    d.autopay = True
    return d


def test_billed_days_of_a_seat_outlive_a_second_revert() -> None:
    """Sep 17: alice checks out a monthly seat again (anchor Sep 17). Sep 17 - Oct 3 was billed
    on the first invoice, still owed: not billed again. The rest of her first new period, Oct 3
    - 17, is 14 of its 30 days: round_half_up(14 / 30 * 3000) = 1400, on the Oct 17 invoice
    with the next month. Before rules 5 the second revert forgot the first one's days."""
    d = _two_unpaid_lives()
    d.run(t(2026, 9, 17, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.tick(t(2026, 9, 17, 11))
    assert [inv.total for inv in d.invoices] == [3000, 30000]  # nothing billed twice
    d.tick(t(2026, 10, 17, 1))
    assert sorted(lines(-1, d)) == [("seat", 1, 3000), ("seat_proration", 1, 1400)]


def test_on_the_rules_of_before_a_second_revert_forgets_the_first_ones_days() -> None:
    """Rules 4 (runs recorded before rules 5) charged alice's monthly seat again at once."""
    d = _two_unpaid_lives(rules=4)
    d.run(t(2026, 9, 17, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.tick(t(2026, 9, 17, 11))
    assert [inv.total for inv in d.invoices] == [3000, 30000, 3000]

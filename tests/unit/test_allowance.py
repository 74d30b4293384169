"""The overview's allowance (plan, contract, pooled seat credits) and its usage cards."""

from __future__ import annotations

from billing import Period, UsageTotals, calendar_month
from billing.allowance import allowance, seat_credit_pool, usage_cards
from billing.overview import overview
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t

TEAM = {"olga": "org_admin", "ed": "viewer"}


def test_a_solo_period_includes_its_prorated_credits_and_prices_the_overage() -> None:
    d = Driver(CREDITS, t(2026, 9, 15, 10), TEAM)
    d.run(t(2026, 9, 25), "select_plan", plan="solo", actor="olga")
    d.tick(t(2026, 10, 20))
    found = allowance(d.state, CREDITS, t(2026, 10, 20))
    assert found is not None
    # Oct 15..31 of the month: 17/31 of 7,500 included, as the period-end invoice counts it.
    assert (found.source, found.credits, found.credit_overage_rate) == ("plan", 4113, 4)
    assert (found.window_start, found.window_end) == (t(2026, 10, 15, 10), t(2026, 11, 1))
    cards = usage_cards(found, credits_used=5000, minutes_used=30, as_of=t(2026, 10, 20))
    assert (cards.credits.overage, cards.credits.overage_charge) == (887, 3548)
    assert cards.credits.projection is None  # projections are for contracts
    assert (cards.serverless_minutes.included, cards.serverless_minutes.overage_charge) == (None, 30)


def test_a_contract_four_months_in_at_twice_the_pace_projects_an_overage() -> None:
    contract = Period(start=t(2026, 9, 20), end=t(2027, 9, 20))
    d = Driver(CREDITS, t(2026, 9, 15, 10), TEAM, {contract: UsageTotals()})
    d.run(
        t(2026, 9, 20),
        "set_contract",
        actor="staff:sam",
        plan="pro",
        starts_at=contract.start,
        ends_at=contract.end,
        price=500_000,
        credits=1_000_000,
        rollover_credits=95_000,
        credit_overage_rate=2,
    )
    as_of = t(2027, 1, 20)  # 122 of 365 days
    found = allowance(d.state, CREDITS, as_of)
    assert found is not None
    assert (found.source, found.credits) == ("contract", 1_095_000)
    linear = 1_095_000 * 122 // 365
    cards = usage_cards(found, credits_used=2 * linear, minutes_used=0, as_of=as_of)
    projection = cards.credits.projection
    assert projection is not None
    assert projection.direction == "overage"
    assert projection.projected_amount == projection.projected - 1_095_000 > 1_000_000
    assert projection.projected_charge == 2 * projection.projected_amount
    assert cards.credits.warning is not None
    assert cards.credits.warning.startswith("projected overage")
    assert cards.credits.overage == 0  # nothing over the contract yet
    view = overview(d.state, CREDITS, as_of)
    assert view.contract is not None
    assert view.contract.credits == 1_000_000
    assert view.allowance == found


def test_seat_credits_are_pooled_per_workspace() -> None:
    d = Driver(SEATS, t(2026, 9, 3, 9), {"alice": "admin", "bob": "admin", "carol": "member"})
    d.run(t(2026, 9, 3, 9), "assign_seat", actor="alice", user="alice", type="pro")
    d.run(t(2026, 9, 3, 9), "assign_seat", actor="alice", user="bob", type="max")
    # pro 1,000 + max 5,000 + carol's free seat 100
    assert seat_credit_pool(d.state, SEATS) == 6100
    found = allowance(d.state, SEATS, t(2026, 9, 10))
    assert found is not None
    assert (found.source, found.credits, found.credit_overage_rate) == ("seats", 6100, 0)
    cards = usage_cards(found, credits_used=7000, minutes_used=0, as_of=None)
    assert (cards.credits.overage, cards.credits.overage_charge) == (900, 0)


def test_a_trial_without_a_plan_has_no_allowance() -> None:
    d = Driver(CREDITS, t(2026, 9, 15, 10), TEAM)
    assert allowance(d.state, CREDITS, t(2026, 9, 20)) is None
    free = Driver(SEATS, t(2026, 9, 3), {"alice": "admin"})
    found = allowance(free.state, SEATS, t(2026, 9, 10))
    assert found is not None
    assert (found.credits, found.window_start) == (100, calendar_month(t(2026, 9, 10)).start)

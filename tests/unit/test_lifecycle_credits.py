"""Credits catalog lifecycle (SPEC §1.2, §1.3, §2): trial, in-arrears invoices, plan changes."""

from __future__ import annotations

import pytest

from billing import DomainError, Period, UsageTotals, calendar_month, next_deadline
from tests.unit.billing_helpers import CREDITS, Driver, t

TEAM = {"olga": "org_admin", "ed": "viewer", "vic": "viewer"}
START = t(2026, 9, 15, 10)  # trial ends Oct 15 10:00


def credits_driver(**usage: UsageTotals) -> Driver:
    windows = {
        "oct": Period(start=t(2026, 10, 15, 10), end=t(2026, 11, 1)),
        "nov": calendar_month(t(2026, 11, 1)),
    }
    return Driver(CREDITS, START, TEAM, {windows[k]: v for k, v in usage.items()})


def test_plan_selected_on_day_10_starts_billing_at_trial_end() -> None:
    d = credits_driver(oct=UsageTotals(credits=5000, serverless_minutes=100))
    assert d.status == "trialing"
    # The trial-ending notice (rules 4) is due 3 days before the trial's end.
    assert next_deadline(d.state) == t(2026, 10, 12, 10)
    decision = d.run(t(2026, 9, 25, 9), "select_plan", plan="solo")
    assert decision.result is not None
    assert decision.result.effective_at == t(2026, 10, 15, 10)
    assert d.status == "trialing"
    d.tick(t(2026, 10, 31))
    assert d.status == "active"
    assert d.invoices == []  # in arrears: nothing yet
    assert (d.state.period_start, d.state.period_end) == (t(2026, 10, 15, 10), t(2026, 11, 1))
    d.tick(t(2026, 11, 1))
    inv = d.invoices[0]
    assert inv.issued_at == t(2026, 11, 1)
    lines = [(ln.kind, ln.quantity, ln.unit_amount, ln.amount) for ln in inv.lines]
    # Oct 15..31 = 17/31 days; included 17/31 * 7500 = 4112.9 -> 4113 credits
    assert lines == [
        ("plan_proration", 1, 548, 548),
        ("credits_overage", 887, 4, 3548),
        ("serverless_minutes", 100, 1, 100),
    ]
    assert inv.total == 4196


def test_upgrade_is_immediate_and_prorated_by_days() -> None:
    d = credits_driver(nov=UsageTotals(credits=22500))
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    d.run(t(2026, 11, 11, 16), "change_plan", plan="starter")
    assert d.state.plan == "starter"
    d.tick(t(2026, 12, 1))
    dec1 = d.invoices[-1]
    # solo Nov 1..10 = 10/30 * 1000; starter Nov 11..30 = 20/30 * 10000; 22500 included
    assert [(ln.kind, ln.amount) for ln in dec1.lines] == [
        ("plan_proration", 6667),
        ("plan_proration", 333),
    ]
    assert dec1.total == 7000


def test_downgrade_scheduled_then_cancelled_by_reselecting() -> None:
    d = credits_driver()
    d.run(t(2026, 9, 25), "select_plan", plan="starter")
    decision = d.run(t(2026, 12, 5), "select_plan", plan="solo")
    assert decision.result is not None
    assert decision.result.effective_at == t(2027, 1, 1)
    assert d.state.pending_change is not None
    assert d.state.plan == "starter"
    d.run(t(2026, 12, 10), "select_plan", plan="starter")
    assert d.state.pending_change is None
    assert "downgrade_cancelled" in d.event_names()
    d.tick(t(2027, 1, 1))
    assert d.state.plan == "starter"
    assert [(ln.kind, ln.amount) for ln in d.invoices[-1].lines] == [("plan", 10000)]


def test_downgrade_takes_effect_at_period_end() -> None:
    d = credits_driver()
    d.run(t(2026, 9, 25), "select_plan", plan="starter")
    d.run(t(2026, 12, 5), "select_plan", plan="solo")
    d.tick(t(2027, 1, 1))
    assert d.state.plan == "solo"
    assert d.invoices[-1].total == 10000  # December on starter
    d.tick(t(2027, 2, 1))
    assert d.invoices[-1].total == 1000


def test_trial_without_plan_expires_and_bills_nothing() -> None:
    d = credits_driver()
    d.tick(t(2026, 11, 5))
    assert d.status == "trial_expired"
    assert d.invoices == []
    d.run(t(2026, 11, 20, 8), "select_plan", plan="solo")
    assert d.status == "active"
    d.tick(t(2026, 12, 1))
    assert d.invoices[-1].total == 367  # Nov 20..30 = 11/30 * 1000


def test_cancel_ends_the_subscription_after_the_last_invoice() -> None:
    d = credits_driver()
    d.run(t(2026, 9, 25), "select_plan", plan="solo")
    d.run(t(2026, 11, 3), "cancel", reason="moving on")
    assert d.state.cancel_at == t(2026, 12, 1)
    d.tick(t(2026, 12, 1))
    assert d.status == "canceled"
    assert d.invoices[-1].issued_at == t(2026, 12, 1)
    assert d.invoices[-1].total == 1000
    d.run(t(2026, 12, 16), "reactivate")
    assert d.status == "active"
    assert d.state.period_start == t(2026, 12, 16)


def test_sales_contract_invoiced_at_start_and_overage_at_end() -> None:
    contract = Period(start=t(2026, 9, 20), end=t(2027, 9, 20))
    d = Driver(CREDITS, START, TEAM, {contract: UsageTotals(credits=1_100_000)})
    with pytest.raises(DomainError, match="plan_not_self_serve"):
        d.run(t(2026, 9, 20), "select_plan", plan="pro")
    d.run(
        t(2026, 9, 20),
        "set_contract",
        actor="staff:sam",
        plan="pro",
        starts_at=contract.start,
        ends_at=contract.end,
        price=500_000,
        credits=1_000_000,
        credit_overage_rate=2,
    )
    assert (d.status, d.state.plan) == ("active", "pro")
    d.tick(t(2026, 9, 20, 1))  # the contract price posts when its draft window ends
    assert [(ln.kind, ln.amount) for ln in d.invoices[-1].lines] == [("contract", 500_000)]
    assert d.invoices[-1].issued_at == t(2026, 9, 20)
    d.tick(t(2027, 9, 20))  # the overage is in arrears: posted at once
    assert [(ln.kind, ln.quantity, ln.amount) for ln in d.invoices[-1].lines] == [
        ("credits_overage", 100_000, 200_000)
    ]
    assert d.status == "canceled"


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        ("select_plan", {"plan": "gold"}, "plan_not_found"),
        ("select_plan", {"plan": "partner"}, "plan_not_self_serve"),
        ("assign_seat", {"user": "ed", "type": "pro"}, "not_supported_by_catalog"),
        ("reactivate", {}, "not_allowed_in_status"),
        ("cancel", {"actor": "ed"}, "forbidden"),
        ("select_plan", {"plan": "solo", "actor": "ed"}, "forbidden"),
        ("set_role", {"user": "zed", "role": "editor"}, "member_not_found"),
    ],
)
def test_rejections(kind: str, fields: dict[str, object], code: str) -> None:
    d = credits_driver()
    before = d.state
    with pytest.raises(DomainError) as info:
        d.run(t(2026, 9, 20), kind, **fields)
    assert info.value.code == code
    assert d.state == before


def test_paid_user_limits() -> None:
    d = credits_driver()
    d.run(t(2026, 9, 20), "add_member", user="al", role="admin")  # no plan yet: no limit
    with pytest.raises(DomainError, match="seat_limit_reached"):
        d.run(t(2026, 9, 20), "select_plan", plan="solo")  # 2 paid users > 1
    d.run(t(2026, 9, 20), "select_plan", plan="starter")
    d.run(t(2026, 9, 20), "set_role", user="ed", role="editor")  # 3 of 3
    with pytest.raises(DomainError, match="seat_limit_reached"):
        d.run(t(2026, 9, 21), "set_role", user="vic", role="editor")


def test_extend_trial_by_staff() -> None:
    d = credits_driver()
    d.run(t(2026, 10, 1), "extend_trial", days=10, actor="staff:sam")
    assert d.state.trial is not None
    assert d.state.trial.ends_at == t(2026, 10, 25, 10)

"""The credits catalog end to end: trial, plan selection, upgrade and downgrade.

Real workflow, real activities, embedded PostgreSQL, Temporal's time-skipping server.
Every expected amount is computed here from SPEC §1.2/§1.4 and the dates (whole UTC
days, half-up rounding once per line), never read back from the implementation.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from billing import ChangePlan, SelectPlan
from billing.overview import PendingChangeView
from billing.workspace import Member
from contracts.workspace import WorkspaceSetup
from devstack.timeskip import time_skipping_server
from tests.workflows.driver import Driver, request_id
from workflows.messages import PreviewRequest
from workflows.subscription import SubscriptionWorkflow

SOLO = 1000  # catalogs/credits.toml, SPEC §1.2
STARTER = 10000
TRIAL_DAYS = 30


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server (overrides the session's).

    A workflow another module leaves running on a shared server wakes up when this
    module moves the clock, finds no worker for its task queue, and holds time skipping
    back: a private server keeps these tests fast whatever ran before them.
    """
    async with time_skipping_server() as env:
        yield env


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _half_up(value: Fraction) -> int:
    """SPEC §1.4: round once, halves away from zero."""
    sign = -1 if value < 0 else 1
    whole, rest = divmod(abs(value.numerator), value.denominator)
    return sign * (whole + (1 if 2 * rest >= value.denominator else 0))


def _days(start: datetime, end: datetime) -> int:
    """Whole UTC days from ``start``'s day (included) to ``end``'s day (excluded)."""
    return (end.date() - start.date()).days


def _month_days(at: datetime) -> int:
    return calendar.monthrange(at.year, at.month)[1]


def _prorated(price: int, start: datetime, end: datetime) -> int:
    """``price`` for the days ``[start, end)`` of ``start``'s calendar month."""
    return _half_up(Fraction(price * _days(start, end), _month_days(start)))


def _setup(ws: str, *, editor: bool = False) -> WorkspaceSetup:
    """alice is the billing admin (org_admin, a paid role); bob a viewer (free) or an editor."""
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@acme.test",
        members=[
            Member(user_id="alice", role="org_admin", role_granted_at=_t("2025-12-01T00:00:00")),
            Member(
                user_id="bob",
                role="editor" if editor else "viewer",
                role_granted_at=_t("2025-12-02T00:00:00"),
            ),
        ],
    )


async def _start(driver: Driver, at: datetime, *, editor: bool = False) -> datetime:
    """Start the subscription (a trial) at ``at``; the exact trial end.

    The driver's clock offset is whole seconds, so the workflow starts within a second of
    ``at``: the trial end is derived from the instant the trial really started.
    """
    await driver.start(_setup(f"cred-{uuid.uuid4().hex[:8]}", editor=editor), "credits", at)
    trial = (await driver.state()).trial
    assert trial is not None
    # The simulated clock never runs behind the instant asked for (how far ahead depends on
    # the machine's load between skips: the trial end is derived from the real start).
    assert trial.started_at >= at
    assert trial.ends_at == trial.started_at + timedelta(days=TRIAL_DAYS)
    return trial.ends_at


async def _subscription(driver: Driver) -> dict[str, Any]:
    rows = await driver.rows(
        "SELECT catalog, status, plan, paid_seats, period_start, period_end, trial_ends_at,"
        " cancel_at, pending_change, credit_balance FROM subscriptions WHERE workspace_id = :ws"
    )
    assert len(rows) == 1
    return rows[0]


async def _events(driver: Driver, *names: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Timeline rows of ``names`` (all when none given), in time order."""
    rows = await driver.rows(
        "SELECT event, at, data FROM subscription_events WHERE workspace_id = :ws ORDER BY at, id"
    )
    return [(r["event"], r["at"], r["data"]) for r in rows if not names or r["event"] in names]


def _day(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


async def test_trial_without_a_plan_expires_then_a_selected_plan_starts_billing(driver: Driver) -> None:
    start = _t("2026-03-10T09:00:00")
    trial_end = await _start(driver, start)  # exactly 30 days after the instant it started
    assert _day(trial_end) == _t("2026-04-09T00:00:00")

    await driver.advance_to(_t("2026-03-20T12:00:00"))
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.period_start) == ("trialing", None, None)
    assert overview.trial is not None
    assert overview.trial.selected_plan is None
    assert overview.trial.ends_at == trial_end
    assert "no plan selected" in overview.trial.message.lower()
    row = await _subscription(driver)
    assert (row["catalog"], row["status"], row["plan"], row["trial_ends_at"]) == (
        "credits",
        "trialing",
        None,
        trial_end,
    )

    # The trial ends with no plan: trial_expired, nothing billed, even past the next 1st.
    await driver.advance_to(_t("2026-05-01T03:00:00"))
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.trial) == ("trial_expired", None, None)
    assert (overview.period_start, overview.period_end, overview.recent_invoices) == (None, None, ())
    assert any("select a plan" in w for w in overview.warnings)
    state = await driver.state()
    assert (state.invoices, state.accrued, state.invoice_seq) == ((), (), 0)
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_start"], row["period_end"]) == (
        "trial_expired",
        None,
        None,
        None,
    )
    timeline = await _events(driver)
    assert [(e, at) for e, at, _ in timeline] == [
        ("trial_started", trial_end - timedelta(days=TRIAL_DAYS)),
        ("trial_will_end", trial_end - timedelta(days=3)),  # the notice (rules 4)
        ("trial_ended", trial_end),
    ]
    assert timeline[2][2] == {"plan": None}
    assert datetime.fromisoformat(timeline[0][2]["ends_at"]) == trial_end

    # Selecting a plan now starts a paid period at once, running to the next 1st.
    await driver.advance_to(_t("2026-05-12T12:00:00"))
    result = await driver.update(
        SelectPlan(request_id=request_id(), actor="alice", plan="solo")
    )
    assert (result.status, result.plan) == ("active", "solo")
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.trial) == ("active", "solo", None)
    assert overview.period_start is not None
    assert _day(overview.period_start) == _t("2026-05-12T00:00:00")
    assert overview.period_end == _t("2026-06-01T00:00:00")
    assert overview.warnings == ()
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_end"]) == ("active", "solo", _t("2026-06-01T00:00:00"))

    await driver.advance_to(_t("2026-06-01T03:00:00"))
    expected = _prorated(SOLO, _t("2026-05-12T00:00:00"), _t("2026-06-01T00:00:00"))  # 20/31 of 1000
    assert expected == 645
    await driver.pay_all()  # collected against the card on file
    state = await driver.state()
    assert [(i.issued_at, i.total, i.status) for i in state.invoices] == [
        (_t("2026-06-01T00:00:00"), expected, "paid")
    ]
    overview = await driver.overview()
    assert [(i.issued_at, i.total) for i in overview.recent_invoices] == [
        (_t("2026-06-01T00:00:00"), expected)
    ]
    assert (overview.period_start, overview.period_end) == (
        _t("2026-06-01T00:00:00"),
        _t("2026-07-01T00:00:00"),
    )
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_start"], row["period_end"]) == (
        "active",
        "solo",
        _t("2026-06-01T00:00:00"),
        _t("2026-07-01T00:00:00"),
    )
    billed = await _events(driver, "plan_selected", "invoice_posted", "period_renewed")
    assert [(e, at.date().isoformat()) for e, at, _ in billed] == [
        ("plan_selected", "2026-05-12"),
        ("invoice_posted", "2026-06-01"),
        ("period_renewed", "2026-06-01"),
    ]
    posted = billed[1]
    assert posted[1] == _t("2026-06-01T00:00:00")
    assert posted[2] == {"number": state.invoices[0].number, "total": expected, "lines": 1}


async def test_plan_chosen_mid_trial_starts_at_trial_end_and_is_prorated_to_the_first(driver: Driver) -> None:
    start = _t("2026-03-10T09:00:00")
    trial_end = await _start(driver, start, editor=True)  # two paid users: within starter's 3
    assert _day(trial_end) == _t("2026-04-09T00:00:00")

    await driver.advance_to(_t("2026-03-20T12:00:00"))  # day 10 of the trial
    result = await driver.update(
        SelectPlan(request_id=request_id(), actor="alice", plan="starter")
    )
    assert (result.status, result.plan, result.effective_at) == ("trialing", None, trial_end)
    overview = await driver.overview()
    assert (overview.status, overview.plan) == ("trialing", None)
    assert overview.trial is not None
    assert (overview.trial.selected_plan, overview.trial.ends_at) == ("starter", trial_end)
    assert "2026-04-09" in overview.trial.message
    assert "no plan selected" not in overview.trial.message.lower()
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["trial_ends_at"], row["period_start"]) == (
        "trialing",
        None,
        trial_end,
        None,
    )

    # No invoice on Apr 1: the trial is free.
    await driver.advance_to(_t("2026-04-01T03:00:00"))
    assert (await driver.state()).invoices == ()

    await driver.advance_to(_t("2026-04-09T11:00:00"))
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.trial) == ("active", "starter", None)
    assert (overview.period_start, overview.period_end) == (trial_end, _t("2026-05-01T00:00:00"))
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_start"], row["period_end"]) == (
        "active",
        "starter",
        trial_end,
        _t("2026-05-01T00:00:00"),
    )
    assert (await driver.state()).invoices == ()

    await driver.advance_to(_t("2026-05-01T03:00:00"))
    expected = _prorated(STARTER, trial_end, _t("2026-05-01T00:00:00"))  # Apr 9..30: 22/30 of 10000
    assert expected == 7333
    state = await driver.state()
    assert [(i.issued_at, i.total) for i in state.invoices] == [(_t("2026-05-01T00:00:00"), expected)]
    assert state.status == "active"
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_start"], row["period_end"]) == (
        "active",
        "starter",
        _t("2026-05-01T00:00:00"),
        _t("2026-06-01T00:00:00"),
    )
    timeline = await _events(
        driver, "trial_started", "plan_selected", "trial_ended", "plan_changed", "invoice_posted"
    )
    assert [(e, at) for e, at, _ in timeline] == [
        ("trial_started", trial_end - timedelta(days=TRIAL_DAYS)),
        ("plan_selected", timeline[1][1]),
        ("trial_ended", trial_end),
        ("plan_changed", trial_end),
        ("invoice_posted", _t("2026-05-01T00:00:00")),
    ]
    assert _day(timeline[1][1]) == _t("2026-03-20T00:00:00")
    assert timeline[1][2]["plan"] == "starter"
    assert timeline[2][2] == {"plan": "starter"}
    assert timeline[3][2] == {"from_plan": None, "to_plan": "starter"}
    assert timeline[4][2] == {"number": state.invoices[0].number, "total": expected, "lines": 1}


async def _paid_from_february(driver: Driver, plan: str) -> None:
    """Trial Jan 5 09:00 -> Feb 4 09:00 with ``plan`` chosen on day 1; Mar 1 invoice paid."""
    await _start(driver, _t("2026-01-05T09:00:00"))
    await driver.advance_to(_t("2026-01-06T12:00:00"))
    await driver.update(SelectPlan(request_id=request_id(), actor="alice", plan=plan))
    await driver.advance_to(_t("2026-03-01T03:00:00"))
    price = SOLO if plan == "solo" else STARTER
    expected = _prorated(price, _t("2026-02-04T09:00:00"), _t("2026-03-01T00:00:00"))  # 25/28
    state = await driver.state()
    assert [(i.issued_at, i.total) for i in state.invoices] == [(_t("2026-03-01T00:00:00"), expected)]
    assert await driver.pay_all() == [state.invoices[0].number]
    await driver.advance_to(_t("2026-03-01T04:00:00"))
    assert [i.status for i in (await driver.state()).invoices] == ["paid"]


async def test_upgrade_mid_period_is_immediate_and_prorates_both_plans(driver: Driver) -> None:
    await _paid_from_february(driver, "solo")
    await driver.advance_to(_t("2026-03-12T12:00:00"))
    solo_days = _prorated(SOLO, _t("2026-03-01T00:00:00"), _t("2026-03-12T00:00:00"))  # 11/31 of 1000
    starter_days = _prorated(STARTER, _t("2026-03-12T00:00:00"), _t("2026-04-01T00:00:00"))  # 20/31
    assert (solo_days, starter_days) == (355, 6452)

    upgrade = ChangePlan(request_id=request_id(), actor="alice", plan="starter")
    result = await driver.update(upgrade)
    assert (result.status, result.plan) == ("active", "starter")
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.pending_changes) == ("active", "starter", ())
    assert [p.code for p in overview.plans if p.current] == ["starter"]
    assert (overview.period_start, overview.period_end) == (
        _t("2026-03-01T00:00:00"),
        _t("2026-04-01T00:00:00"),
    )
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["pending_change"]) == ("active", "starter", None)
    state = await driver.state()
    # The solo days so far wait for the in-arrears invoice, in full detail.
    assert [
        (ln.kind, ln.quantity, ln.unit_amount, ln.amount, ln.period_start, ln.period_end)
        for ln in state.accrued
    ] == [("plan_proration", 1, solo_days, solo_days, _t("2026-03-01T00:00:00"), _t("2026-03-12T00:00:00"))]
    changed = await _events(driver, "plan_changed")
    assert changed[-1][2] == {"from_plan": "solo", "to_plan": "starter"}
    assert _day(changed[-1][1]) == _t("2026-03-12T00:00:00")

    await driver.advance_to(_t("2026-04-01T03:00:00"))
    state = await driver.state()
    assert [(i.issued_at, i.total) for i in state.invoices] == [
        (_t("2026-03-01T00:00:00"), _prorated(SOLO, _t("2026-02-04T00:00:00"), _t("2026-03-01T00:00:00"))),
        (_t("2026-04-01T00:00:00"), solo_days + starter_days),
    ]
    assert (state.plan, state.accrued) == ("starter", ())
    posted = await _events(driver, "invoice_posted")
    assert posted[-1][1:] == (
        _t("2026-04-01T00:00:00"),
        {"number": state.invoices[-1].number, "total": solo_days + starter_days, "lines": 2},
    )
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["period_start"], row["period_end"]) == (
        "active",
        "starter",
        _t("2026-04-01T00:00:00"),
        _t("2026-05-01T00:00:00"),
    )
    overview = await driver.overview()
    assert next((i.issued_at, i.total) for i in overview.recent_invoices) == (
        _t("2026-04-01T00:00:00"),
        solo_days + starter_days,
    )


async def test_downgrade_waits_for_period_end_and_reselecting_cancels_it(driver: Driver) -> None:
    await _paid_from_february(driver, "starter")
    april = _t("2026-04-01T00:00:00")
    scheduled = (PendingChangeView(kind="plan", effective_at=april, to_plan="solo"),)

    await driver.advance_to(_t("2026-03-10T12:00:00"))
    result = await driver.update(
        ChangePlan(request_id=request_id(), actor="alice", plan="solo")
    )
    assert (result.status, result.plan, result.effective_at) == ("active", "starter", april)
    overview = await driver.overview()
    assert (overview.plan, overview.pending_changes) == ("starter", scheduled)
    row = await _subscription(driver)
    assert (row["plan"], row["pending_change"]["kind"], row["pending_change"]["to_plan"]) == (
        "starter",
        "plan",
        "solo",
    )
    assert datetime.fromisoformat(row["pending_change"]["effective_at"]) == april
    assert (await driver.state()).accrued == ()

    # Selecting the current plan again cancels the scheduled downgrade.
    await driver.advance_to(_t("2026-03-12T12:00:00"))
    result = await driver.update(
        SelectPlan(request_id=request_id(), actor="alice", plan="starter")
    )
    assert (result.status, result.plan) == ("active", "starter")
    overview = await driver.overview()
    assert (overview.plan, overview.pending_changes) == ("starter", ())
    row = await _subscription(driver)
    assert (row["plan"], row["pending_change"]) == ("starter", None)

    # A second downgrade, left in place, takes effect on the 1st.
    await driver.advance_to(_t("2026-03-20T12:00:00"))
    await driver.update(ChangePlan(request_id=request_id(), actor="alice", plan="solo"))
    assert (await driver.overview()).pending_changes == scheduled
    timeline = await _events(driver, "downgrade_scheduled", "downgrade_cancelled")
    assert [(e, at.date().isoformat()) for e, at, _ in timeline] == [
        ("downgrade_scheduled", "2026-03-10"),
        ("downgrade_cancelled", "2026-03-12"),
        ("downgrade_scheduled", "2026-03-20"),
    ]
    assert timeline[0][2]["from_plan"] == "starter"
    assert timeline[0][2]["to_plan"] == "solo"
    assert datetime.fromisoformat(str(timeline[0][2]["effective_at"])) == april
    assert timeline[1][2] == {"plan": "starter"}

    await driver.advance_to(_t("2026-04-01T03:00:00"))
    state = await driver.state()
    # March was all starter: a full-month plan charge; April starts on solo.
    assert [(i.issued_at, i.total) for i in state.invoices][-1] == (april, STARTER)
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.pending_changes) == ("active", "solo", ())
    assert (overview.period_start, overview.period_end) == (april, _t("2026-05-01T00:00:00"))
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["pending_change"], row["period_start"]) == (
        "active",
        "solo",
        None,
        april,
    )
    changed = await _events(driver, "plan_changed", "invoice_posted")
    assert [(e, at, d.get("from_plan"), d.get("to_plan"), d.get("total")) for e, at, d in changed][-2:] == [
        ("invoice_posted", april, None, None, STARTER),
        ("plan_changed", april, "starter", "solo", None),
    ]
    await driver.pay_all()

    await driver.advance_to(_t("2026-05-01T03:00:00"))
    state = await driver.state()
    assert [(i.issued_at, i.total) for i in state.invoices][-1] == (_t("2026-05-01T00:00:00"), SOLO)
    assert (await _subscription(driver))["plan"] == "solo"


async def test_upgrade_quote_is_priced_at_the_current_time(driver: Driver) -> None:
    await _paid_from_february(driver, "solo")  # the workflow last woke on Mar 1
    await driver.advance_to(_t("2026-03-12T12:00:00"))
    solo_days = _prorated(SOLO, _t("2026-03-01T00:00:00"), _t("2026-03-12T00:00:00"))  # 11/31 of 1000
    upgrade = ChangePlan(request_id=request_id(), actor="alice", plan="starter")
    assert driver.handle is not None
    # The caller's clock: a query runs at the workflow's last task time otherwise.
    answer = await driver.handle.query(
        SubscriptionWorkflow.quote, PreviewRequest(command=upgrade, at=await driver.now())
    )
    quote = answer.preview
    assert quote is not None
    assert quote.effective_at is not None
    assert _day(quote.effective_at) == _t("2026-03-12T00:00:00")
    assert [(ln.kind, ln.amount, ln.period_end) for ln in quote.accrued] == [
        ("plan_proration", solo_days, _t("2026-03-12T00:00:00"))
    ]
    # The quote is the charge: applying the command accrues exactly the quoted line.
    await driver.update(upgrade)
    assert (await driver.state()).accrued == quote.accrued

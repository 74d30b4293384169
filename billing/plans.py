"""Plan selection and the trial (SPEC §1.2, §2): the credits catalog's self-serve plans.

A plan selected during the trial begins when the trial ends; a trial that ends with no
plan leaves the workspace ``trial_expired`` until one is chosen. An upgrade is immediate
(the old plan's days so far accrue as a ``plan_proration`` line), a downgrade is a
`PendingChange` at the period end, and selecting the current plan again cancels it.
Change timing is catalog data (``[plan_change]``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.catalog import Catalog, Plan
from billing.changes import evolve
from billing.commands import ChangePlan, ExtendTrial, SelectPlan, StartTrial
from billing.decision import Outcome, event, require_status
from billing.effects import Effect, SendEmail
from billing.errors import (
    NOT_ALLOWED_IN_STATUS,
    NOT_SUPPORTED,
    PLAN_NOT_SELF_SERVE,
    SEAT_LIMIT_REACHED,
    DomainError,
)
from billing.invoicing.charges import segment_lines
from billing.periods import calendar_month, next_month_start
from billing.revert import restore
from billing.sales_contracts import contract_scheduled
from billing.state import PAID_STATUSES, BillingState, PendingChange, PlanSegment


def open_arrears_period(state: BillingState, start: datetime, plan: str) -> BillingState:
    """Start a calendar-month period (the first one runs from ``start`` to the next 1st)."""
    return evolve(
        state,
        status="active",
        plan=plan,
        period_index=state.period_index + 1 if state.period_end else 0,
        period_start=start,
        period_end=next_month_start(start),
        plan_segments=(PlanSegment(plan=plan, start=start),),
        pending_change=None,
    )


def _check_fits(state: BillingState, plan: Plan, catalog: Catalog) -> None:
    if plan.paid_users is None:
        return
    paid = sum(1 for m in state.members.values() if m.status == "active" and m.role in catalog.roles.paid)
    if paid > plan.paid_users:
        raise DomainError(
            SEAT_LIMIT_REACHED,
            f"{plan.name} allows {plan.paid_users} paid users; {paid} members have a paid role",
            {"limit": plan.paid_users, "paid_users": paid},
        )


def select_plan(state: BillingState, cmd: SelectPlan | ChangePlan, at: datetime, catalog: Catalog) -> Outcome:
    """Choose a self-serve plan; see the module docstring for the timing rules."""
    plan = catalog.plan(cmd.plan)
    if catalog.seat_based and plan.code != state.plan:
        raise DomainError(
            NOT_SUPPORTED,
            "in this catalog the plan follows the paid seats: assign a paid seat, or cancel",
            {"plan": plan.code},
        )
    if not plan.self_serve:
        raise DomainError(
            PLAN_NOT_SELF_SERVE, f"{plan.name} is sales-assisted: contact sales", {"plan": plan.code}
        )
    if state.contract is not None:
        raise DomainError(NOT_ALLOWED_IN_STATUS, "the workspace is under a sales contract")
    if state.next_contract is not None and state.rules >= 2:
        raise contract_scheduled(state)
    require_status(state, {"trialing", "trial_expired", "canceled", *PAID_STATUSES}, "select a plan")
    _check_fits(state, plan, catalog)
    if state.status == "trialing" and state.trial is not None:
        trial = evolve(state.trial, selected_plan=plan.code)
        state = evolve(state, trial=trial)
        selected: list[Effect] = [event("plan_selected", at, plan=plan.code, begins_at=trial.ends_at)]
        return Outcome(state, selected, f"{plan.name} begins {trial.ends_at.date()}", trial.ends_at)
    if state.status in {"trial_expired", "canceled"}:
        effects: list[Effect] = []
        if state.reverted_at is not None:
            state, effects = restore(state, at).state_and_effects()
        state = open_arrears_period(state, at, plan.code)
        effects += [event("plan_selected", at, plan=plan.code, begins_at=at)]
        return Outcome(state, effects, f"{plan.name} begins now", at)
    return _change_paid_plan(state, plan, at, catalog)


def _change_paid_plan(state: BillingState, plan: Plan, at: datetime, catalog: Catalog) -> Outcome:
    assert state.plan is not None
    assert state.period_end is not None
    current = catalog.plan(state.plan)
    if plan.code == current.code:
        if state.pending_change is None or state.pending_change.kind != "plan":
            return Outcome(state, [], "already on this plan")
        state = evolve(state, pending_change=None)
        return Outcome(
            state, [event("downgrade_cancelled", at, plan=plan.code)], "scheduled change cancelled"
        )
    upgrade = plan.rank > current.rank
    timing = catalog.plan_change.upgrade if upgrade else catalog.plan_change.downgrade
    if timing == "period_end":
        change = PendingChange(kind="plan", effective_at=state.period_end, to_plan=plan.code)
        state = evolve(state, pending_change=change)
        effects = [
            event(
                "downgrade_scheduled",
                at,
                from_plan=current.code,
                to_plan=plan.code,
                effective_at=change.effective_at,
            )
        ]
        return Outcome(
            state, list(effects), f"{plan.name} from {change.effective_at.date()}", change.effective_at
        )
    assert state.period_start is not None
    closing = segment_lines(catalog, state.plan_segments[-1], at, calendar_month(state.period_start))
    state = evolve(
        state,
        plan=plan.code,
        accrued=state.accrued + tuple(closing),
        plan_segments=(*state.plan_segments, PlanSegment(plan=plan.code, start=at)),
        pending_change=None,
    )
    effects = [event("plan_changed", at, from_plan=current.code, to_plan=plan.code)]
    return Outcome(state, list(effects), f"{plan.name} from now", at)


def start_trial(state: BillingState, cmd: StartTrial, at: datetime, catalog: Catalog) -> Outcome:
    """A trial starts with the subscription; asking again while it runs changes nothing."""
    if catalog.trial_days == 0:
        raise DomainError(NOT_SUPPORTED, f"catalog {catalog.name!r} has no trial")
    require_status(state, {"trialing"}, "start a trial")
    return Outcome(state, [], "trial already running")


def extend_trial(state: BillingState, cmd: ExtendTrial, at: datetime, catalog: Catalog) -> Outcome:
    """Support staff: push the trial end back (an expired trial reopens from now)."""
    require_status(state, {"trialing", "trial_expired"}, "extend the trial")
    assert state.trial is not None
    days = timedelta(days=cmd.days)
    if state.status == "trialing":
        trial = evolve(state.trial, ends_at=state.trial.ends_at + days)
    else:
        trial = evolve(state.trial, ends_at=at + days, selected_plan=None)
    state = evolve(state, trial=trial, status="trialing")
    return Outcome(
        state,
        [event("trial_extended", at, ends_at=trial.ends_at)],
        f"trial ends {trial.ends_at.date()}",
        trial.ends_at,
    )


def end_trial(state: BillingState, catalog: Catalog) -> Outcome:
    """Clock: the trial ends; billing starts with the selected plan, or the trial expires."""
    assert state.trial is not None
    at = state.trial.ends_at
    plan = state.trial.selected_plan
    if plan is None:
        state = evolve(state, status="trial_expired")
        effects: list[Effect] = [
            event("trial_ended", at, plan=None),
            SendEmail(at=at, template="trial_expired", to_role="billing_contact"),
        ]
        return Outcome(state, effects)
    state = open_arrears_period(state, at, plan)
    return Outcome(
        state, [event("trial_ended", at, plan=plan), event("plan_changed", at, from_plan=None, to_plan=plan)]
    )


# How long before a trial ends its billing contact hears of it (Stripe's trial_will_end: 3 days).
TRIAL_NOTICE = timedelta(days=3)


def trial_notice_at(state: BillingState) -> datetime | None:
    """When the notice of the trial's end is due (rules 4), or None.

    A notice announces one end: extending the trial moves it (a new notice for the new end).
    A trial shorter than the notice gets it at once, at its start: never is not an option,
    since the billing contact would learn of the end only when it happened.
    """
    trial = state.trial
    if state.rules < 4 or state.status != "trialing" or trial is None or trial.noticed_end == trial.ends_at:
        return None
    return max(trial.ends_at - TRIAL_NOTICE, trial.started_at)


def notify_trial_end(state: BillingState, at: datetime) -> Outcome:
    """Clock: the trial ends in 3 days: ``trial_will_end`` and the ``trial_ending`` e-mail."""
    assert state.trial is not None
    trial = state.trial
    data: dict[str, str | None] = {"ends_at": trial.ends_at.isoformat(), "plan": trial.selected_plan}
    effects: list[Effect] = [
        event("trial_will_end", at, ends_at=trial.ends_at, plan=trial.selected_plan),
        SendEmail(at=at, template="trial_ending", to_role="billing_contact", data=dict(data)),
    ]
    return Outcome(evolve(state, trial=evolve(trial, noticed_end=trial.ends_at)), effects)

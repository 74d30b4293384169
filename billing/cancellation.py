"""The end of a paid life on request, and its undoing (SPEC §2): cancel (at the end of
what is paid), clear a cancellation, reactivate, delete everything.

What happens when a cancellation falls due is `billing.revert.end_paid_life`; what the
revert keeps or deletes is `billing.retention`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import Cancel, ClearCancellation, DeleteWorkspaceCommand, Reactivate, is_staff
from billing.deadlines import usage_missing
from billing.decision import Outcome, event, require_status
from billing.effects import DeleteWorkspace, Effect, SendEmail
from billing.errors import CONFIRMATION_MISMATCH, NOT_ALLOWED_IN_STATUS, DomainError
from billing.invoicing.drafts import post_open_invoice
from billing.periods import Period
from billing.plans import open_arrears_period
from billing.renewal import close_early, final_usage_window
from billing.revert import flush_accrued, restore
from billing.sales_contracts import contract_scheduled, unschedule_contract
from billing.seats import open_seat_period
from billing.state import PAID_STATUSES, BillingState, Status, without_cancellation
from billing.terms import paid_through
from billing.usage import UsageTotals


def _cancel_trial(state: BillingState, cmd: Cancel, at: datetime) -> Outcome:
    """Cancelling during a trial clears the selected plan: nothing is billed and the trial
    ends ``trial_expired`` (SPEC §2)."""
    assert state.trial is not None
    trial = evolve(state.trial, selected_plan=None)
    state = evolve(state, trial=trial)
    effects: list[Effect] = [
        event("cancel_requested", at, reason=cmd.reason, actor=cmd.actor, cancel_at=trial.ends_at),
    ]
    return Outcome(state, effects, "the trial ends without a plan: nothing will be billed", trial.ends_at)


def cancel(state: BillingState, cmd: Cancel, at: datetime, catalog: Catalog) -> Outcome:
    """Cancel at the end of what is paid: the period, or the last annual term (rules 2)."""
    if state.status == "trialing":
        return _cancel_trial(state, cmd, at)
    require_status(state, PAID_STATUSES, "cancel")
    if state.cancel_at is not None:
        return Outcome(state, [], "already canceling", state.cancel_at)
    if state.next_contract is not None and state.rules >= 2:
        if not is_staff(cmd.actor):
            raise contract_scheduled(state)
        state, dropped = unschedule_contract(state, at).state_and_effects()
    else:
        dropped = []
    status: Status = "past_due" if state.status == "past_due" else "canceling"
    # Monthly seats and plans end with the period; annual seats run to their term end.
    cancel_at = paid_through(state) if state.rules >= 2 else state.period_end
    state = evolve(
        state, status=status, cancel_at=cancel_at, cancel_reason=cmd.reason, cancel_actor=cmd.actor
    )
    effects: list[Effect] = [
        *dropped,
        event("cancel_requested", at, reason=cmd.reason, actor=cmd.actor, cancel_at=state.cancel_at),
        SendEmail(
            at=at,
            template="cancel_requested",
            to_role="billing_contact",
            data={"ends_at": state.cancel_at.isoformat() if state.cancel_at else None},
        ),
    ]
    return Outcome(state, effects, "cancels at the period end", state.cancel_at)


def clear_cancellation(
    state: BillingState, cmd: ClearCancellation | Reactivate, at: datetime, catalog: Catalog
) -> Outcome:
    if state.cancel_at is None:
        raise DomainError(NOT_ALLOWED_IN_STATUS, "there is no cancellation to clear")
    return Outcome(without_cancellation(state), [event("cancellation_cleared", at)], "cancellation cleared")


def reactivate(state: BillingState, cmd: Reactivate, at: datetime, catalog: Catalog) -> Outcome:
    """Undo a cancellation still pending, or start a new paid life from the last one's seats
    (seats) or plan (credits)."""
    if state.status in PAID_STATUSES:
        return _welcomed(clear_cancellation(state, cmd, at, catalog), at)
    require_status(state, {"free", "canceled"}, "reactivate")
    if catalog.seat_based:
        seats = [s for s in state.restorable_seats if s.user in state.members]
        if not seats:
            raise DomainError(NOT_ALLOWED_IN_STATUS, "no previous paid seat to restore: assign a paid seat")
        return _welcomed(open_seat_period(state, at, catalog, seats, "reactivation"), at)
    plan = state.plan
    if plan is None or not catalog.plan(plan).self_serve:
        raise DomainError(NOT_ALLOWED_IN_STATUS, "select a plan to resubscribe")
    effects: list[Effect] = []
    if state.reverted_at is not None:
        state, effects = restore(state, at).state_and_effects()
    state = open_arrears_period(state, at, plan)
    return _welcomed(Outcome(state, effects, f"{plan} from now", at), at)


def _welcomed(outcome: Outcome, at: datetime) -> Outcome:
    """``outcome`` with the ``reactivated`` e-mail (plan and paid-through date as of now)."""
    state = outcome.state
    period_end = state.period_end.isoformat() if state.period_end else None
    email = SendEmail(
        at=at,
        template="reactivated",
        to_role="billing_contact",
        data={"plan": state.plan, "period_end": period_end},
    )
    return outcome._replace(effects=[*outcome.effects, email])


def delete_workspace(
    state: BillingState,
    cmd: DeleteWorkspaceCommand,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals],
) -> Outcome:
    """Delete everything: post what is owed (a final in-arrears invoice under rules 2), then
    the workspace is ``deleted`` and the workflow ends.

    Args:
        usage: the totals of the open period's used part (`billing.deadlines.usage_due`).
    """
    if cmd.confirm != state.workspace_id:
        raise DomainError(CONFIRMATION_MISMATCH, "type the workspace id to confirm the deletion")
    window = final_usage_window(state, at, catalog)
    if window is None:
        state, effects = flush_accrued(state, catalog, at).state_and_effects()
    else:
        if window not in usage:
            raise usage_missing(window)
        state, effects = post_open_invoice(state, catalog, at).state_and_effects()
        state, final = close_early(state, catalog, window, usage[window]).state_and_effects()
        effects += final
    state = evolve(
        state,
        status="deleted",
        deleted_at=at,
        cancel_at=None,
        pending_change=None,
        pending_seat_changes=(),
        data_source_deletions=(),
        period_start=None,
        period_end=None,
    )
    effects += [DeleteWorkspace(at=at), event("workspace_deleted", at, actor=cmd.actor)]
    return Outcome(state, effects, "workspace deleted")

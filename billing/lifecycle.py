"""The entry points the workflow calls: start, apply a command, validate (SPEC §2, §7).

`apply` first catches the clock up (`advance`), then runs the command's transition and
records its result under the request id: a repeated request id returns the first result
and changes nothing. A rejected command raises `DomainError` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from billing.authorization import require_billing_admin
from billing.catalog import Catalog
from billing.clock import advance, close_early, final_usage_window, usage_missing
from billing.commands import (
    ADMIN_KINDS,
    STAFF_KINDS,
    AddMember,
    ApproveSeats,
    AssignSeat,
    Cancel,
    ChangePlan,
    ChangeSeat,
    ClearCancellation,
    Command,
    DeleteWorkspaceCommand,
    ExtendTrial,
    Reactivate,
    RemoveMember,
    RequestSeats,
    SelectPlan,
    SetContract,
    SetRole,
    StartTrial,
    UnassignSeat,
    is_staff,
)
from billing.contracts import (
    approve_seats,
    contract_scheduled,
    request_seats,
    set_contract,
    unschedule_contract,
)
from billing.decision import Decision, Outcome, event, require_status
from billing.drafts import post_open_invoice
from billing.effects import DeleteWorkspace, Effect, PostInvoice, SendEmail
from billing.errors import CONFIRMATION_MISMATCH, FORBIDDEN, NOT_ALLOWED_IN_STATUS, DomainError
from billing.members import add_member, remove_member, set_role
from billing.periods import Period
from billing.plans import extend_trial, open_arrears_period, select_plan, start_trial
from billing.revert import flush_accrued, restore
from billing.seats import assign_seat, change_seat, open_seat_period, unassign_seat
from billing.state import (
    CURRENT_RULES,
    PAID_STATUSES,
    PROCESSED_WINDOW,
    BillingState,
    CommandResult,
    Member,
    Trial,
    without_cancellation,
)
from billing.terms import paid_through
from billing.usage import UsageTotals
from billing.workspace import RevertPlan, ScheduledDeletion


def new_subscription(
    workspace_id: str,
    catalog: Catalog,
    at: datetime,
    members: Mapping[str, Member] | None = None,
    rules: int = CURRENT_RULES,
) -> Decision:
    """The initial state: ``free`` (catalogs with a free plan) or a ``trialing`` trial.

    Args:
        members: the roster at creation (user id -> member).
        rules: the version of the rules it decides by (`billing.state.CURRENT_RULES`).
    """
    roster = dict(members or {})
    if catalog.free_plan is not None:
        state = BillingState(
            workspace_id=workspace_id,
            catalog_name=catalog.name,
            status="free",
            rules=rules,
            plan=catalog.free_plan,
            members=roster,
        )
        return Decision(state=state, effects=[event("subscription_started", at, status="free")])
    trial = Trial(started_at=at, ends_at=at + timedelta(days=catalog.trial_days))
    state = BillingState(
        workspace_id=workspace_id,
        catalog_name=catalog.name,
        status="trialing",
        rules=rules,
        trial=trial,
        members=roster,
    )
    effects: list[Effect] = [event("trial_started", at, ends_at=trial.ends_at)]
    return Decision(state=state, effects=effects)


def _cancel_trial(state: BillingState, cmd: Cancel, at: datetime) -> Outcome:
    """Cancelling during a trial clears the selected plan: nothing is billed and the trial
    ends ``trial_expired`` (SPEC §2)."""
    assert state.trial is not None
    trial = state.trial.model_copy(update={"selected_plan": None})
    state = state.model_copy(update={"trial": trial})
    effects: list[Effect] = [
        event("cancel_requested", at, reason=cmd.reason, actor=cmd.actor, cancel_at=trial.ends_at),
    ]
    return Outcome(state, effects, "the trial ends without a plan: nothing will be billed", trial.ends_at)


def _cancel(state: BillingState, cmd: Cancel, at: datetime, catalog: Catalog) -> Outcome:
    if state.status == "trialing":
        return _cancel_trial(state, cmd, at)
    require_status(state, PAID_STATUSES, "cancel")
    if state.cancel_at is not None:
        return Outcome(state, [], "already canceling", state.cancel_at)
    if state.next_contract is not None and state.rules >= 2:
        if not is_staff(cmd.actor):
            raise contract_scheduled(state)
        state, dropped = unschedule_contract(state, at)[:2]
    else:
        dropped = []
    status = "past_due" if state.status == "past_due" else "canceling"
    # Monthly seats and plans end with the period; annual seats run to their term end.
    cancel_at = paid_through(state) if state.rules >= 2 else state.period_end
    update = {
        "status": status,
        "cancel_at": cancel_at,
        "cancel_reason": cmd.reason,
        "cancel_actor": cmd.actor,
    }
    state = state.model_copy(update=update)
    effects: list[Effect] = [
        *dropped,
        event("cancel_requested", at, reason=cmd.reason, actor=cmd.actor, cancel_at=state.cancel_at),
        SendEmail(at=at, template="cancel_requested", to_role="billing_contact"),
    ]
    return Outcome(state, effects, "cancels at the period end", state.cancel_at)


def _clear_cancellation(
    state: BillingState, cmd: ClearCancellation | Reactivate, at: datetime, catalog: Catalog
) -> Outcome:
    if state.cancel_at is None:
        raise DomainError(NOT_ALLOWED_IN_STATUS, "there is no cancellation to clear")
    return Outcome(without_cancellation(state), [event("cancellation_cleared", at)], "cancellation cleared")


def _reactivate(state: BillingState, cmd: Reactivate, at: datetime, catalog: Catalog) -> Outcome:
    if state.status in PAID_STATUSES:
        return _clear_cancellation(state, cmd, at, catalog)
    require_status(state, {"free", "canceled"}, "reactivate")
    if catalog.seat_based:
        seats = [s for s in state.restorable_seats if s.user in state.members]
        if not seats:
            raise DomainError(NOT_ALLOWED_IN_STATUS, "no previous paid seat to restore: assign a paid seat")
        return open_seat_period(state, at, catalog, seats, "reactivation")
    plan = state.plan
    if plan is None or not catalog.plan(plan).self_serve:
        raise DomainError(NOT_ALLOWED_IN_STATUS, "select a plan to resubscribe")
    effects: list[Effect] = []
    if state.reverted_at is not None:
        state, effects = restore(state, at)[:2]
    state = open_arrears_period(state, at, plan)
    return Outcome(state, effects, f"{plan} from now", at)


def _delete(
    state: BillingState,
    cmd: DeleteWorkspaceCommand,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals],
) -> Outcome:
    if cmd.confirm != state.workspace_id:
        raise DomainError(CONFIRMATION_MISMATCH, "type the workspace id to confirm the deletion")
    window = final_usage_window(state, at, catalog)
    if window is None:
        state, effects = flush_accrued(state, catalog, at)[:2]
    else:
        if window not in usage:
            raise usage_missing(window)
        state, effects = post_open_invoice(state, catalog, at)[:2]
        state, final = close_early(state, catalog, window, usage[window])[:2]
        effects += final
    state = state.model_copy(
        update={
            "status": "deleted",
            "deleted_at": at,
            "cancel_at": None,
            "pending_change": None,
            "pending_seat_changes": (),
            "data_source_deletions": (),
            "period_start": None,
            "period_end": None,
        }
    )
    effects += [DeleteWorkspace(at=at), event("workspace_deleted", at, actor=cmd.actor)]
    return Outcome(state, effects, "workspace deleted")


def _authorize(state: BillingState, command: Command, catalog: Catalog) -> None:
    actor = command.actor
    if actor is None or is_staff(actor):
        return
    if command.kind in STAFF_KINDS:
        raise DomainError(FORBIDDEN, f"{command.kind} is for support staff")
    if command.kind in ADMIN_KINDS:
        member = state.members.get(actor)
        admin_roles = catalog.roles.billing_admin
        require_billing_admin(
            member.status if member else None,
            member.role if member else None,
            admin_roles,
            f"{command.kind} needs the {'/'.join(admin_roles)} role",
            {"actor": actor},
        )


def run_command(
    state: BillingState,
    command: Command,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals] | None = None,
) -> Outcome:
    """The command's own transition, without clock catch-up or request-id bookkeeping.

    Args:
        usage: totals of the windows the command closes (`billing.clock.usage_due`).
    """
    if state.status == "deleted":
        raise DomainError(NOT_ALLOWED_IN_STATUS, "the workspace is deleted", {"status": "deleted"})
    _authorize(state, command, catalog)
    if isinstance(command, DeleteWorkspaceCommand):
        return _delete(state, command, at, catalog, usage or {})
    return _dispatch(state, command, at, catalog)


def _dispatch(state: BillingState, command: Command, at: datetime, catalog: Catalog) -> Outcome:
    match command:
        case StartTrial():
            return start_trial(state, command, at, catalog)
        case SelectPlan() | ChangePlan():
            return select_plan(state, command, at, catalog)
        case AssignSeat():
            return assign_seat(state, command, at, catalog)
        case UnassignSeat():
            return unassign_seat(state, command, at, catalog)
        case ChangeSeat():
            return change_seat(state, command, at, catalog)
        case AddMember():
            return add_member(state, command, at, catalog)
        case SetRole():
            return set_role(state, command, at, catalog)
        case RemoveMember():
            return remove_member(state, command, at, catalog)
        case Cancel():
            return _cancel(state, command, at, catalog)
        case ClearCancellation():
            return _clear_cancellation(state, command, at, catalog)
        case Reactivate():
            return _reactivate(state, command, at, catalog)
        case ExtendTrial():
            return extend_trial(state, command, at, catalog)
        case SetContract():
            return set_contract(state, command, at, catalog)
        case RequestSeats():
            return request_seats(state, command, at, catalog)
        case ApproveSeats():
            return approve_seats(state, command, at, catalog)
        case DeleteWorkspaceCommand():
            raise AssertionError("run_command handles deletions")  # pragma: no cover


def apply(
    state: BillingState,
    command: Command,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals] | None = None,
) -> Decision:
    """Apply one command at ``at`` (after catching the clock up to ``at``).

    Returns:
        The decision: clock effects first, then the command's; ``result`` is remembered
        under ``command.request_id``.

    Raises:
        DomainError: the command is refused; nothing changed.
    """
    if command.request_id in state.processed:
        return Decision(state=state, effects=[], result=state.processed[command.request_id])
    caught_up = advance(state, at, catalog, usage)
    outcome = run_command(caught_up.state, command, at, catalog, usage)
    result = CommandResult(
        request_id=command.request_id,
        kind=command.kind,
        message=outcome.message,
        status=outcome.state.status,
        plan=outcome.state.plan,
        effective_at=outcome.effective_at,
        invoice_number=next((e.invoice.number for e in outcome.effects if isinstance(e, PostInvoice)), None),
    )
    processed = {**outcome.state.processed, command.request_id: result}
    if len(processed) > PROCESSED_WINDOW:
        processed = dict(list(processed.items())[-PROCESSED_WINDOW:])
    state = outcome.state.model_copy(update={"processed": processed})
    return Decision(state=state, effects=caught_up.effects + outcome.effects, result=result)


def validate(
    state: BillingState,
    command: Command,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals] | None = None,
) -> None:
    """Raise exactly the `DomainError` `apply` would raise (for Update validators).

    It runs the same transition and discards the result, so the two cannot disagree.
    """
    apply(state, command, at, catalog, usage)


def remember_revert(state: BillingState, plan: RevertPlan) -> BillingState:
    """Remember what the applied revert plan took away that time brings back or acts on:
    the data-source deletions it scheduled, and the agents it deactivated (a reactivation
    restores those from the state, not from a stored plan)."""
    state = schedule_data_source_deletions(state, plan.scheduled_deletions)
    return state.model_copy(update={"deactivated_agents": tuple(plan.deactivated_agent_ids)})


def schedule_data_source_deletions(
    state: BillingState, deletions: Sequence[ScheduledDeletion]
) -> BillingState:
    """Remember the deletions a revert plan scheduled; `advance` performs them when due."""
    known = {d.data_source_id for d in state.data_source_deletions}
    new: list[ScheduledDeletion] = []
    for deletion in deletions:
        if deletion.data_source_id not in known:
            known.add(deletion.data_source_id)
            new.append(deletion)
    return state.model_copy(update={"data_source_deletions": (*state.data_source_deletions, *new)})

"""The entry points the workflow calls: start, apply a command, validate (SPEC §2, §7).

`apply` first catches the clock up (`advance`), then runs the command's transition and
records its result under the request id: a repeated request id returns the first result
and changes nothing. A rejected command raises `DomainError` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from billing.authorization import require_billing_admin
from billing.cancellation import cancel, clear_cancellation, delete_workspace, reactivate
from billing.catalog import Catalog
from billing.changes import evolve
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
from billing.deadlines import advance
from billing.decision import Decision, Outcome, event
from billing.effects import Effect, PostInvoice
from billing.errors import FORBIDDEN, NOT_ALLOWED_IN_STATUS, DomainError
from billing.members import add_member, remove_member, set_role
from billing.periods import Period
from billing.plans import extend_trial, select_plan, start_trial
from billing.sales_contracts import (
    approve_seats,
    request_seats,
    set_contract,
)
from billing.seat_changes import change_seat
from billing.seats import assign_seat, unassign_seat
from billing.state import (
    CURRENT_RULES,
    PROCESSED_WINDOW,
    BillingState,
    CommandResult,
    Member,
    Trial,
)
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
        usage: totals of the windows the command closes (`billing.deadlines.usage_due`).
    """
    if state.status == "deleted":
        raise DomainError(NOT_ALLOWED_IN_STATUS, "the workspace is deleted", {"status": "deleted"})
    _authorize(state, command, catalog)
    if isinstance(command, DeleteWorkspaceCommand):
        return delete_workspace(state, command, at, catalog, usage or {})
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
            return cancel(state, command, at, catalog)
        case ClearCancellation():
            return clear_cancellation(state, command, at, catalog)
        case Reactivate():
            return reactivate(state, command, at, catalog)
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
    state = evolve(outcome.state, processed=processed)
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
    return evolve(state, deactivated_agents=tuple(plan.deactivated_agent_ids))


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
    return evolve(state, data_source_deletions=(*state.data_source_deletions, *new))

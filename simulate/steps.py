"""A scenario's steps: one verb per step, each command verb named by the command's ``kind``.

`COMMAND_VERBS` maps every kind of `billing.COMMANDS` to the arguments its verb takes; two
more verbs (``usage``, ``payment_method``) are writes production receives outside the
workflow. `step_command` turns a command verb's arguments into the command itself, the
same model the API builds, so a scenario step is what production would be sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator

from billing.commands import COMMANDS, STAFF_KINDS, AnyCommand
from billing.periods import add_months
from billing.state import ContractPricing
from billing.usage import UtcDatetime

UserId = Annotated[str, Field(min_length=1, max_length=200)]
_STRICT = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Strict(BaseModel):
    model_config = _STRICT


class NoArgs(_Strict):
    pass


class PlanArgs(_Strict):
    plan: str


class AssignSeatArgs(_Strict):
    user: UserId
    type: str
    cycle: Literal["monthly", "annual"] = "monthly"


class UserArgs(_Strict):
    user: UserId


class ChangeSeatArgs(_Strict):
    user: UserId
    type: str


class AddMemberArgs(_Strict):
    user: UserId
    role: str | None = None


class SetRoleArgs(_Strict):
    user: UserId
    role: str


class CancelArgs(_Strict):
    reason: str | None = None


class ExtendTrialArgs(_Strict):
    days: PositiveInt


class RequestSeatsArgs(_Strict):
    quantity: PositiveInt
    note: str | None = None


class ApproveSeatsArgs(_Strict):
    step: PositiveInt = Field(description="The number of the `request_seats` step approved.")


class ContractArgs(ContractPricing):
    model_config = _STRICT

    starts_at: UtcDatetime | None = None  # default: the step's instant
    ends_at: UtcDatetime | None = None  # default: one year after the start


class UsageArgs(_Strict):
    # Checked event by event in `_check_usage` (billing's parser, with defaults filled in).
    events: list[dict[str, Any]] = Field(min_length=1)


class PaymentMethodArgs(_Strict):
    card: Literal["ok", "declined"]


COMMAND_VERBS: dict[str, type[BaseModel]] = {
    "start_trial": NoArgs,
    "select_plan": PlanArgs,
    "change_plan": PlanArgs,
    "assign_seat": AssignSeatArgs,
    "unassign_seat": UserArgs,
    "change_seat": ChangeSeatArgs,
    "add_member": AddMemberArgs,
    "set_role": SetRoleArgs,
    "remove_member": UserArgs,
    "cancel": CancelArgs,
    "clear_cancellation": NoArgs,
    "reactivate": NoArgs,
    "extend_trial": ExtendTrialArgs,
    "set_contract": ContractArgs,
    "request_seats": RequestSeatsArgs,
    "approve_seats": ApproveSeatsArgs,
    "delete_workspace": NoArgs,
}
"""The arguments of each command's verb, by kind (checked against `billing.COMMANDS`)."""

VERBS: tuple[str, ...] = (*COMMAND_VERBS, "usage", "payment_method")
_NO_ARG_VERBS = frozenset({v for v, args in COMMAND_VERBS.items() if args in (NoArgs, CancelArgs)})


class Step(_Strict):
    """One step: its instant, exactly one verb with its arguments, and who acts (``as``)."""

    at: UtcDatetime
    actor: str | None = Field(default=None, alias="as")
    start_trial: NoArgs | None = None
    select_plan: PlanArgs | None = None
    change_plan: PlanArgs | None = None
    assign_seat: AssignSeatArgs | None = None
    unassign_seat: UserArgs | None = None
    change_seat: ChangeSeatArgs | None = None
    add_member: AddMemberArgs | None = None
    set_role: SetRoleArgs | None = None
    remove_member: UserArgs | None = None
    cancel: CancelArgs | None = None
    clear_cancellation: NoArgs | None = None
    reactivate: NoArgs | None = None
    extend_trial: ExtendTrialArgs | None = None
    set_contract: ContractArgs | None = None
    request_seats: RequestSeatsArgs | None = None
    approve_seats: ApproveSeatsArgs | None = None
    delete_workspace: NoArgs | None = None
    usage: UsageArgs | None = None
    payment_method: PaymentMethodArgs | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_verbs(cls, data: Any) -> Any:
        # `- reactivate:` (a verb with no arguments) reads as null: make it an empty mapping.
        if isinstance(data, dict):
            return {k: ({} if k in _NO_ARG_VERBS and v is None else v) for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_verb(self) -> Step:
        given = [v for v in VERBS if getattr(self, v) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a step needs exactly one verb (one of: {', '.join(VERBS)}); got {given or 'none'}"
            )
        return self

    @property
    def verb(self) -> str:
        return next(v for v in VERBS if getattr(self, v) is not None)

    @property
    def args(self) -> BaseModel:
        found: BaseModel = getattr(self, self.verb)
        return found


def step_request_id(index: int) -> str:
    """The request id of the step at ``index`` (they follow the step numbers: reruns match)."""
    return f"simulate-step-{index + 1}"


def step_command(index: int, step: Step, actor: str, *, staff: str, workspace_id: str) -> AnyCommand:
    """The command a command verb's step sends (support-staff kinds act as ``staff`` unless
    the step says who acts)."""
    kind = step.verb
    args = step.args.model_dump(exclude_none=True)
    if kind in STAFF_KINDS and step.actor is None:
        actor = staff
    match kind:
        case "set_contract":
            starts_at: datetime = args.pop("starts_at", step.at)
            a_year_on = add_months(starts_at, 12).replace(
                hour=starts_at.hour, minute=starts_at.minute, second=starts_at.second
            )
            args = {"starts_at": starts_at, "ends_at": a_year_on, **args}
        case "request_seats":
            args["reason"] = args.pop("note", None)
        case "approve_seats":
            args = {"request": step_request_id(args["step"] - 1)}  # the request_seats step's id
        case "delete_workspace":
            args = {"confirm": workspace_id}
    common = {"request_id": step_request_id(index), "actor": actor}
    command: AnyCommand = COMMANDS[kind].model_validate({**common, **args})
    return command

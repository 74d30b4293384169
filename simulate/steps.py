"""A scenario's steps: one verb per step, each command verb named by the command's ``kind``.

`COMMAND_VERBS` maps every kind of `billing.COMMANDS` to the arguments its verb takes; two
more verbs (``usage``, ``payment_method``) are writes production receives outside the
workflow. `step_command` turns a command verb's arguments into the command itself, the
same model the API builds, so a scenario step is what production would be sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, create_model, model_validator

from billing.commands import COMMANDS, STAFF_KINDS, AnyCommand, CommandBase
from billing.periods import add_months
from billing.state import ContractPricing
from billing.usage import UtcDatetime

UserId = Annotated[str, Field(min_length=1, max_length=200)]
_STRICT = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class _Strict(BaseModel):
    model_config = _STRICT


class NoArgs(_Strict):
    pass


_GIVEN_BY_THE_STEP = frozenset({"kind", "request_id", "actor"})


def _arguments(command_type: type[CommandBase]) -> type[BaseModel]:
    """A command verb's arguments: the command's own fields (the step says who acts, its
    number gives the request id), so a new command has its verb without touching simulate."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in command_type.model_fields.items()
        if name not in _GIVEN_BY_THE_STEP
    }
    made: type[BaseModel] = create_model(f"{command_type.__name__}Args", __base__=_Strict, **fields)
    return made


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
    card: Literal["ok", "declined", "needs_authentication"]


# The verbs whose arguments are not the command's own: a scenario names a step where the
# API takes an id, and fills in what a story would otherwise repeat.
_OWN_ARGUMENTS: dict[str, type[BaseModel]] = {
    "set_contract": ContractArgs,  # dates default to the step's instant and a year on
    "request_seats": RequestSeatsArgs,  # ``note`` for sales, as the API names it
    "approve_seats": ApproveSeatsArgs,  # the request_seats step, not its request id
    "delete_workspace": NoArgs,  # the confirmation is the scenario's workspace id
}
COMMAND_VERBS: dict[str, type[BaseModel]] = {
    kind: _OWN_ARGUMENTS.get(kind) or _arguments(command_type) for kind, command_type in COMMANDS.items()
}
"""The arguments of each command's verb, by kind (checked against `billing.COMMANDS`)."""

# Two more verbs are writes production receives outside the workflow.
VERB_ARGUMENTS: dict[str, type[BaseModel]] = {
    **COMMAND_VERBS,
    "usage": UsageArgs,
    "payment_method": PaymentMethodArgs,
}
VERBS: tuple[str, ...] = tuple(VERB_ARGUMENTS)
# Verbs that need no argument may stand bare (``- reactivate:``).
_NO_ARG_VERBS = frozenset(
    v for v, args in COMMAND_VERBS.items() if not any(f.is_required() for f in args.model_fields.values())
)


class StepBase(_Strict):
    """One step: its instant, exactly one verb with its arguments, and who acts (``as``).

    `Step` adds one optional field per command verb, made from `COMMAND_VERBS`.
    """

    at: UtcDatetime
    actor: str | None = Field(default=None, alias="as")
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
    def _one_verb(self) -> StepBase:
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


if TYPE_CHECKING:
    Step = StepBase
else:  # the verbs are fields, so a step's YAML is validated (and documented) by pydantic
    Step = create_model(
        "Step",
        __base__=StepBase,
        __doc__=StepBase.__doc__,
        **{verb: (args | None, None) for verb, args in COMMAND_VERBS.items()},
    )


def step_request_id(index: int) -> str:
    """The request id of the step at ``index`` (they follow the step numbers: reruns match)."""
    return f"simulate-step-{index + 1}"


def step_command(index: int, step: Step, actor: str, *, staff: str, workspace_id: str) -> AnyCommand:
    """The command a command verb's step sends (support-staff kinds act as ``staff`` unless
    the step says who acts)."""
    kind = step.verb
    args = step.args.model_dump(by_alias=True, exclude_none=True)
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

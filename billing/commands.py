"""Commands: what a user, a service or support staff asks of a subscription (SPEC §2, §7).

One pydantic model per command, discriminated on ``kind``. Every command carries a
``request_id`` (a repeated id returns the first result and changes nothing) and the
acting ``actor``: a workspace member's user id (whose role is checked for billing
changes), ``"staff:<login>"`` for support staff, or None for the system itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, TypeAdapter

from billing.state import Cycle
from billing.usage import UtcDatetime

STAFF_PREFIX = "staff:"


def is_staff(actor: str | None) -> bool:
    """Whether ``actor`` is support staff (``staff:<login>``)."""
    return actor is not None and actor.startswith(STAFF_PREFIX)


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(min_length=1, max_length=255)
    actor: str | None = None
    # Why, in the actor's words: recorded in the audit log (and, for a cancellation, shown).
    reason: str | None = Field(default=None, max_length=500)


class StartTrial(_Command):
    kind: Literal["start_trial"] = "start_trial"


class SelectPlan(_Command):
    """Choose a self-serve plan (during a trial: the plan the trial converts to)."""

    kind: Literal["select_plan"] = "select_plan"
    plan: str


class ChangePlan(_Command):
    """Same rules as `SelectPlan` (upgrade immediate, downgrade at period end)."""

    kind: Literal["change_plan"] = "change_plan"
    plan: str


class AssignSeat(_Command):
    kind: Literal["assign_seat"] = "assign_seat"
    user: str
    seat_type: str = Field(alias="type")
    cycle: Cycle = "monthly"

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class UnassignSeat(_Command):
    kind: Literal["unassign_seat"] = "unassign_seat"
    user: str


class ChangeSeat(_Command):
    """Change a seat's type: an upgrade is immediate, a downgrade waits for period end."""

    kind: Literal["change_seat"] = "change_seat"
    user: str
    seat_type: str = Field(alias="type")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AddMember(_Command):
    kind: Literal["add_member"] = "add_member"
    user: str = Field(min_length=1)
    role: str | None = None


class SetRole(_Command):
    kind: Literal["set_role"] = "set_role"
    user: str
    role: str


class RemoveMember(_Command):
    kind: Literal["remove_member"] = "remove_member"
    user: str


class Cancel(_Command):
    kind: Literal["cancel"] = "cancel"


class ClearCancellation(_Command):
    kind: Literal["clear_cancellation"] = "clear_cancellation"


class Reactivate(_Command):
    kind: Literal["reactivate"] = "reactivate"


class ExtendTrial(_Command):
    """Support staff only."""

    kind: Literal["extend_trial"] = "extend_trial"
    days: PositiveInt


class SetContract(_Command):
    """Support staff only: a sales contract for a sales-assisted plan (SPEC §1.3)."""

    kind: Literal["set_contract"] = "set_contract"
    plan: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    price: int = Field(ge=0)
    credits: int = Field(default=0, ge=0)
    rollover_credits: int = Field(default=0, ge=0)
    serverless_minutes: int = Field(default=0, ge=0)
    credit_overage_rate: int = Field(default=0, ge=0)
    minute_overage_rate: int = Field(default=0, ge=0)
    seat_unit_price: int = Field(default=0, ge=0)


class RequestSeats(_Command):
    """An admin asks to buy ``quantity`` more seats under the contract (sales confirms)."""

    kind: Literal["request_seats"] = "request_seats"
    quantity: PositiveInt = Field(le=10_000)


class ApproveSeats(_Command):
    """Support staff only: approve a seat request; its seats are charged at once."""

    kind: Literal["approve_seats"] = "approve_seats"
    request: str = Field(min_length=1, max_length=255, description="The request's id.")


class DeleteWorkspaceCommand(_Command):
    """Irreversible; ``confirm`` must equal the workspace id."""

    kind: Literal["delete_workspace"] = "delete_workspace"
    confirm: str


Command = Annotated[
    StartTrial
    | SelectPlan
    | ChangePlan
    | AssignSeat
    | UnassignSeat
    | ChangeSeat
    | AddMember
    | SetRole
    | RemoveMember
    | Cancel
    | ClearCancellation
    | Reactivate
    | ExtendTrial
    | SetContract
    | RequestSeats
    | ApproveSeats
    | DeleteWorkspaceCommand,
    Field(discriminator="kind"),
]
"""Any command, discriminated on ``kind``."""

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)

# Billing changes need the catalog's billing admin role when a member acts (SPEC §2).
ADMIN_KINDS: frozenset[str] = frozenset(
    {
        "select_plan",
        "change_plan",
        "assign_seat",
        "unassign_seat",
        "change_seat",
        "add_member",
        "set_role",
        "remove_member",
        "cancel",
        "clear_cancellation",
        "reactivate",
        "delete_workspace",
        "request_seats",
    }
)
STAFF_KINDS: frozenset[str] = frozenset({"extend_trial", "set_contract", "approve_seats"})

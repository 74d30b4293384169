"""Commands: what a user, a service or support staff asks of a subscription (SPEC §2, §7).

One pydantic model per command, discriminated on ``kind``. Every command carries a
``request_id`` (a repeated id returns the first result and changes nothing) and the
acting ``actor``: a workspace member's user id (whose role is checked for billing
changes), ``"staff:<login>"`` for support staff, or None for the system itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, TypeAdapter

from billing.state import ContractTerms, Cycle

STAFF_PREFIX = "staff:"


def is_staff(actor: str | None) -> bool:
    """Whether ``actor`` is support staff (``staff:<login>``)."""
    return actor is not None and actor.startswith(STAFF_PREFIX)


class CommandBase(BaseModel):
    """What every command carries; each subclass adds its ``kind`` and arguments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str = Field(min_length=1, max_length=255)
    actor: str | None = None
    # Why, in the actor's words: recorded in the audit log (and, for a cancellation, shown).
    reason: str | None = Field(default=None, max_length=500)


class StartTrial(CommandBase):
    """Start the trial (credits catalog)."""

    kind: Literal["start_trial"] = "start_trial"


class SelectPlan(CommandBase):
    """Choose a self-serve plan (during a trial: the plan the trial converts to)."""

    kind: Literal["select_plan"] = "select_plan"
    plan: str


class ChangePlan(CommandBase):
    """Same rules as `SelectPlan` (upgrade immediate, downgrade at period end)."""

    kind: Literal["change_plan"] = "change_plan"
    plan: str


class AssignSeat(CommandBase):
    """Give a member a paid seat."""

    kind: Literal["assign_seat"] = "assign_seat"
    user: str
    seat_type: str = Field(alias="type")
    cycle: Cycle = "monthly"

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class UnassignSeat(CommandBase):
    """Take a member's paid seat away."""

    kind: Literal["unassign_seat"] = "unassign_seat"
    user: str


class ChangeSeat(CommandBase):
    """Change a seat's type: an upgrade is immediate, a downgrade waits for period end."""

    kind: Literal["change_seat"] = "change_seat"
    user: str
    seat_type: str = Field(alias="type")

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class AddMember(CommandBase):
    """Add a member to the roster."""

    kind: Literal["add_member"] = "add_member"
    user: str = Field(min_length=1)
    role: str | None = None


class SetRole(CommandBase):
    """Change a member's role (a new admin grant restarts its grant time)."""

    kind: Literal["set_role"] = "set_role"
    user: str
    role: str


class RemoveMember(CommandBase):
    """Remove a member from the roster (their paid seat is released)."""

    kind: Literal["remove_member"] = "remove_member"
    user: str


class Cancel(CommandBase):
    """Cancel at the end of the current period."""

    kind: Literal["cancel"] = "cancel"


class ClearCancellation(CommandBase):
    """Withdraw a pending cancellation."""

    kind: Literal["clear_cancellation"] = "clear_cancellation"


class Reactivate(CommandBase):
    """Clear a pending cancellation, or restore a reverted workspace."""

    kind: Literal["reactivate"] = "reactivate"


class ExtendTrial(CommandBase):
    """Support staff only: extend the trial by some days."""

    kind: Literal["extend_trial"] = "extend_trial"
    days: PositiveInt


class SetContract(CommandBase, ContractTerms):
    """Support staff only: a sales contract for a sales-assisted plan (SPEC §1.3)."""

    kind: Literal["set_contract"] = "set_contract"


class RequestSeats(CommandBase):
    """An admin asks to buy ``quantity`` more seats under the contract (sales confirms)."""

    kind: Literal["request_seats"] = "request_seats"
    quantity: PositiveInt = Field(le=10_000)


class ApproveSeats(CommandBase):
    """Support staff only: approve a seat request; its seats are charged at once."""

    kind: Literal["approve_seats"] = "approve_seats"
    request: str = Field(min_length=1, max_length=255, description="The request's id.")


class DeleteWorkspaceCommand(CommandBase):
    """Delete everything, irreversibly (``confirm`` must equal the workspace id); the workflow ends."""

    kind: Literal["delete_workspace"] = "delete_workspace"
    confirm: str


AnyCommand = (
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
    | DeleteWorkspaceCommand
)
"""The command types (unannotated: usable as a bound or in `isinstance`)."""

Command = Annotated[AnyCommand, Field(discriminator="kind")]
"""Any command, discriminated on ``kind``."""

COMMAND_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)


def _by_kind() -> Mapping[str, type[AnyCommand]]:
    table: dict[str, type[AnyCommand]] = {}
    for command_type in get_args(AnyCommand):
        kind = command_type.model_fields["kind"].default
        if kind in table:
            raise TypeError(f"two command types of kind {kind!r}: the kind is the Update's name")
        table[kind] = command_type
    return MappingProxyType(table)


COMMANDS: Mapping[str, type[AnyCommand]] = _by_kind()
"""Every command type by its ``kind``, read from `Command`: the one list of commands.

The kind is also the command's Update name (the workflow's handlers are generated from this
table, the client sends ``command.kind``), so renaming a kind breaks recorded histories.
"""

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

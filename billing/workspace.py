"""A workspace's people and data, and the planned changes to them (SPEC §2).

A `WorkspaceSnapshot` is read from the database by an activity; `billing.retention`
decides a `RevertPlan` or `ReactivationPlan` from it; a database activity applies the
plan idempotently. The ``apply_*`` functions below are the reference semantics of that
application (the simulator's final state uses them, and tests check idempotence).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from billing.changes import evolve
from billing.usage import UtcDatetime


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemberSeat(_Frozen):
    """A seat a member holds: its seat type id and billing cycle."""

    seat_type: str
    cycle: Literal["monthly", "annual"]


class Member(_Frozen):
    """A workspace member as the revert sees it.

    ``role_granted_at`` is when the CURRENT role was granted: demoting and re-promoting
    an admin resets it. None means unknown and ranks after every known time. ``seat`` is
    the paid seat held, None when the member holds none (free seats are not listed).
    """

    user_id: str
    role: str
    role_granted_at: UtcDatetime | None = None
    status: Literal["active", "suspended"] = "active"
    email: str | None = None
    seat: MemberSeat | None = None


class Connection(_Frozen):
    """A connector (Notion, Slack, ...); deleting it deletes the data synced from it."""

    id: str
    status: Literal["active", "deleted"] = "active"


class DataSource(_Frozen):
    """A data source; ``deletion_scheduled_at`` is the instant a pending deletion is due."""

    id: str
    bytes: NonNegativeInt
    status: Literal["active", "deleted"] = "active"
    deletion_scheduled_at: UtcDatetime | None = None


class Agent(_Frozen):
    """A custom agent."""

    id: str
    status: Literal["active", "deactivated"] = "active"


class WorkspaceSnapshot(_Frozen):
    """What the database holds about a workspace's people and data at one instant."""

    workspace_id: str
    members: list[Member] = []
    connections: list[Connection] = []
    data_sources: list[DataSource] = []
    agents: list[Agent] = []
    slack_bot: bool = False
    spaces: NonNegativeInt = 0
    billing_contact_email: str | None = None


class SeatHolding(_Frozen):
    """A seat a member held when the workspace reverted (restored on reactivation)."""

    user_id: str
    seat: MemberSeat


class ScheduledDeletion(_Frozen):
    """A data source to delete at ``delete_at`` unless the workspace reactivates first."""

    data_source_id: str
    bytes: NonNegativeInt
    delete_at: UtcDatetime


class DeletionWarningEmail(_Frozen):
    """The one warning sent at the revert, listing every source scheduled for deletion.

    ``to`` is the billing contact, else the kept member's email, else None (nobody to
    write to; the overview still carries the warning).
    """

    to: str | None
    workspace_id: str
    delete_at: UtcDatetime
    data_sources: list[ScheduledDeletion]
    idempotency_key: str


class LimitViolation(_Frozen):
    """A free-plan limit the workspace still exceeds."""

    limit: Literal["members", "connectors", "spaces"]
    current: int
    allowed: int


class RevertPlan(_Frozen):
    """Everything a revert to free does, as data for an idempotent database activity."""

    workspace_id: str
    at: UtcDatetime
    kept_member_ids: list[str]
    suspended_member_ids: list[str]
    previous_seats: list[SeatHolding]
    deleted_connection_ids: list[str]
    remove_slack_bot: bool
    deactivated_agent_ids: list[str]
    scheduled_deletions: list[ScheduledDeletion]
    warning_email: DeletionWarningEmail | None
    limit_violations: list[LimitViolation]


class ReactivationPlan(_Frozen):
    """What reactivation restores. Deleted connections stay deleted: nothing lists them."""

    workspace_id: str
    at: UtcDatetime
    restored_member_ids: list[str]
    restored_seats: list[SeatHolding]
    reactivated_agent_ids: list[str]
    cancelled_deletion_ids: list[str]


def apply_revert(snapshot: WorkspaceSnapshot, plan: RevertPlan) -> WorkspaceSnapshot:
    """The workspace after ``plan``; applying it again changes nothing more."""
    suspended = set(plan.suspended_member_ids)
    released = {h.user_id for h in plan.previous_seats}
    delete_at = {d.data_source_id: d.delete_at for d in plan.scheduled_deletions}
    deleted = set(plan.deleted_connection_ids)
    deactivated = set(plan.deactivated_agent_ids)
    return evolve(
        snapshot,
        members=[
            evolve(
                m,
                status="suspended" if m.user_id in suspended else m.status,
                seat=None if m.user_id in released else m.seat,
            )
            for m in snapshot.members
        ],
        connections=[evolve(c, status="deleted") if c.id in deleted else c for c in snapshot.connections],
        data_sources=[
            evolve(d, deletion_scheduled_at=delete_at[d.id])
            if d.id in delete_at and d.status == "active" and d.deletion_scheduled_at is None
            else d
            for d in snapshot.data_sources
        ],
        agents=[evolve(a, status="deactivated") if a.id in deactivated else a for a in snapshot.agents],
        slack_bot=snapshot.slack_bot and not plan.remove_slack_bot,
    )


def apply_reactivation(snapshot: WorkspaceSnapshot, plan: ReactivationPlan) -> WorkspaceSnapshot:
    """The workspace after ``plan``; applying it again changes nothing more."""
    restored = set(plan.restored_member_ids)
    seats = {h.user_id: h.seat for h in plan.restored_seats}
    agents = set(plan.reactivated_agent_ids)
    cancelled = set(plan.cancelled_deletion_ids)
    return evolve(
        snapshot,
        members=[
            evolve(
                m, status="active" if m.user_id in restored else m.status, seat=seats.get(m.user_id, m.seat)
            )
            for m in snapshot.members
        ],
        data_sources=[
            evolve(d, deletion_scheduled_at=None) if d.id in cancelled and d.status == "active" else d
            for d in snapshot.data_sources
        ],
        agents=[evolve(a, status="active") if a.id in agents else a for a in snapshot.agents],
    )


def apply_deletions(snapshot: WorkspaceSnapshot, due: Iterable[ScheduledDeletion]) -> WorkspaceSnapshot:
    """The workspace after deleting ``due`` sources.

    Only a source still pending is deleted: a deletion cancelled by a reactivation in
    the meantime is skipped (the database activity applies the same guard).
    ``deletion_scheduled_at`` stays as the record of when it was deleted.
    """
    ids = {d.data_source_id for d in due}
    return evolve(
        snapshot,
        data_sources=[
            evolve(d, status="deleted")
            if d.id in ids and d.status == "active" and d.deletion_scheduled_at is not None
            else d
            for d in snapshot.data_sources
        ],
    )

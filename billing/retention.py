"""What reverting a workspace to the free tier does to its data, and what reactivation
restores (SPEC §2 "Revert to free" and "Reactivation").

Pure domain: decisions only, time is an argument. A plan is computed ONCE at the revert
instant and recorded (workflow history); a database activity then applies it
idempotently. Recomputing from an already-reverted snapshot would find nobody left to
suspend, so reactivation takes the recorded `RevertPlan`, not a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, PositiveInt

from billing.errors import FREE_LIMIT_EXCEEDED, DomainError
from billing.workspace import (
    DeletionWarningEmail,
    LimitViolation,
    Member,
    ReactivationPlan,
    RevertPlan,
    ScheduledDeletion,
    SeatHolding,
    WorkspaceSnapshot,
)

# Sorts after every real grant time: an admin whose grant time is unknown ranks last.
_NEVER = datetime.max.replace(tzinfo=UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetentionPolicy(_Frozen):
    """How a revert to free treats workspace data: catalog data (``[retention]`` table).

    The free plan's own limits (members, connectors, spaces) are not repeated here: they
    belong to the catalog's free plan and are passed to `plan_revert` as `FreeLimits`.

    Attributes:
        data_source_max_bytes: a data source strictly larger than this is deleted.
        deletion_delay_days: days between the revert and the deletion of such a source.
        keep_members: how many members keep access (the earliest-granted admins).
    """

    data_source_max_bytes: NonNegativeInt = 50_000_000
    deletion_delay_days: NonNegativeInt = 7
    keep_members: PositiveInt = 1


class FreeLimits(_Frozen):
    """Limits of the plan a workspace reverts to, taken from the catalog's free plan.

    None means unlimited; a catalog without a free plan passes ``FreeLimits()``. From a
    catalog plan: ``FreeLimits(max_members=plan.max_members,
    max_connectors=plan.connectors, max_spaces=plan.spaces)``.
    """

    max_members: NonNegativeInt | None = None
    max_connectors: NonNegativeInt | None = None
    max_spaces: NonNegativeInt | None = None


def _keep_rank(member: Member, admin_roles: frozenset[str]) -> tuple[bool, datetime, str]:
    # Admins first, then earliest grant (unknown grant last), then user id for ties.
    # Without any admin the same order keeps the earliest-granted member.
    return (member.role not in admin_roles, member.role_granted_at or _NEVER, member.user_id)


def members_to_keep(members: Iterable[Member], admin_roles: frozenset[str], count: int = 1) -> list[str]:
    """User ids of the active members who keep access, best first.

    The admin (role in ``admin_roles``) whose current role was granted earliest wins;
    ties go to the smallest user id. With no admin, the earliest-granted member is kept
    (then the smallest user id), so a workspace is never left without anybody.
    """
    active = [m for m in members if m.status == "active"]
    return [m.user_id for m in sorted(active, key=lambda m: _keep_rank(m, admin_roles))][:count]


def earliest_admin(members: Iterable[Member], admin_roles: frozenset[str]) -> str | None:
    """The active member holding an admin role whose role was granted earliest (ties by user
    id), if any: who may act for the workspace's billing by default."""
    admins = [m for m in members if m.status == "active" and m.role in admin_roles]
    ranked = members_to_keep(admins, admin_roles, count=1)
    return ranked[0] if ranked else None


def refuse_beyond_free_limit(
    status: str, limits: FreeLimits, limit: Literal["members", "connectors", "spaces"], current: int
) -> None:
    """On a ``free`` workspace, refuse one more ``limit`` item when ``current`` already reaches
    the free plan's limit (`Catalog.free_limits`). Members, connectors and spaces alike (SPEC §2).

    Raises:
        DomainError: ``free_limit_exceeded``, naming the limit.
    """
    allowed = getattr(limits, f"max_{limit}")
    if status == "free" and allowed is not None and current >= allowed:
        raise DomainError(
            FREE_LIMIT_EXCEEDED,
            f"the free plan allows {allowed} {limit}",
            {"limit": limit, "allowed": allowed, "current": current},
        )


def free_limit_violations(
    members: int, connectors: int, spaces: int, limits: FreeLimits
) -> list[LimitViolation]:
    """The free-plan limits that these counts exceed (strictly more than allowed)."""
    checks: list[tuple[Literal["members", "connectors", "spaces"], int, int | None]] = [
        ("members", members, limits.max_members),
        ("connectors", connectors, limits.max_connectors),
        ("spaces", spaces, limits.max_spaces),
    ]
    return [
        LimitViolation(limit=name, current=current, allowed=allowed)
        for name, current, allowed in checks
        if allowed is not None and current > allowed
    ]


_LIMIT_LABELS = {"members": "active members", "connectors": "connectors", "spaces": "spaces"}


def free_limit_warnings(
    limits: FreeLimits,
    *,
    members: int | None = None,
    connectors: int | None = None,
    spaces: int | None = None,
) -> list[str]:
    """The overview's warning for each free-plan limit the given counts exceed (SPEC §2, §5);
    a count not given (known elsewhere) is not checked."""
    known = FreeLimits(
        max_members=limits.max_members if members is not None else None,
        max_connectors=limits.max_connectors if connectors is not None else None,
        max_spaces=limits.max_spaces if spaces is not None else None,
    )
    return [
        f"Over the free plan's limit: {v.current} {_LIMIT_LABELS[v.limit]}, {v.allowed} allowed."
        for v in free_limit_violations(members or 0, connectors or 0, spaces or 0, known)
    ]


def plan_revert(
    snapshot: WorkspaceSnapshot,
    at: datetime,
    policy: RetentionPolicy,
    admin_roles: frozenset[str],
    *,
    limits: FreeLimits,
    roster: tuple[Sequence[str], Sequence[str]] | None = None,
) -> RevertPlan:
    """Decide what reverting ``snapshot`` to the free tier at ``at`` does.

    Args:
        snapshot: the workspace just before the revert.
        at: the revert instant (end of the cancelled period).
        policy: the catalog's retention policy.
        admin_roles: roles that count as admin (``{"admin"}`` for seats,
            ``{"org_admin"}`` for credits).
        limits: the catalog's free-plan limits, for the "over free limits" report.
        roster: (kept, suspended) user ids as the subscription decided them from its own
            roster (`billing.revert.end_paid_life`): the one decision of who stays. Without
            it (a snapshot alone), the same rule is applied to the snapshot's members.

    Returns:
        The plan. Sources already pending deletion keep their deadline and are not warned
        about again; already deleted or suspended things are left alone.
    """
    active = [m for m in snapshot.members if m.status == "active"]
    if roster is None:
        kept = members_to_keep(snapshot.members, admin_roles, policy.keep_members)
        suspended = [m.user_id for m in active if m.user_id not in kept]
    else:
        kept, suspended = list(roster[0]), list(roster[1])
    delete_at = at + timedelta(days=policy.deletion_delay_days)
    deletions = [
        ScheduledDeletion(data_source_id=d.id, bytes=d.bytes, delete_at=delete_at)
        for d in snapshot.data_sources
        if d.status == "active" and d.deletion_scheduled_at is None and d.bytes > policy.data_source_max_bytes
    ]
    email = None
    if deletions:
        kept_emails = [m.email for m in active if m.user_id in kept and m.email]
        email = DeletionWarningEmail(
            to=snapshot.billing_contact_email or next(iter(kept_emails), None),
            workspace_id=snapshot.workspace_id,
            delete_at=delete_at,
            data_sources=deletions,
            idempotency_key=f"revert:{snapshot.workspace_id}:{at.isoformat()}:deletion-warning",
        )
    return RevertPlan(
        workspace_id=snapshot.workspace_id,
        at=at,
        kept_member_ids=kept,
        suspended_member_ids=suspended,
        previous_seats=[SeatHolding(user_id=m.user_id, seat=m.seat) for m in active if m.seat],
        deleted_connection_ids=[c.id for c in snapshot.connections if c.status == "active"],
        remove_slack_bot=snapshot.slack_bot,
        deactivated_agent_ids=[a.id for a in snapshot.agents if a.status == "active"],
        scheduled_deletions=deletions,
        warning_email=email,
        # After the revert: the kept members, no connection, spaces untouched.
        limit_violations=free_limit_violations(len(kept), 0, snapshot.spaces, limits),
    )


def plan_reactivation(
    snapshot: WorkspaceSnapshot,
    revert: RevertPlan | None,
    at: datetime,
    restored: Sequence[str] | None = None,
    remembered_agents: Sequence[str] | None = None,
) -> ReactivationPlan:
    """Decide what reactivating at ``at`` restores.

    With the recorded revert, only what the revert took away comes back (a member
    suspended for another reason stays suspended). Without it (no record), every
    suspended member and deactivated agent comes back, with seats from the snapshot.
    Pending deletions due strictly after ``at`` are cancelled, whatever scheduled them;
    one already due is not (it happens on time).

    Args:
        restored: the members the subscription restores (its own roster: a member removed
            since the revert is not among them); None restores as described above.
        remembered_agents: the agents the subscription remembers the revert deactivated; None takes
            them from ``revert`` as described above.
    """
    by_id = {m.user_id: m for m in snapshot.members}
    suspended = [m.user_id for m in snapshot.members if m.status == "suspended"]
    deactivated = [a.id for a in snapshot.agents if a.status == "deactivated"]
    if revert is None:
        back, agents = suspended, deactivated
        seats = [SeatHolding(user_id=u, seat=s) for u in back if (s := by_id[u].seat)]
    else:
        back = [u for u in revert.suspended_member_ids if u in suspended]
        agents = [a for a in revert.deactivated_agent_ids if a in deactivated]
        seats = [h for h in revert.previous_seats if h.user_id in by_id]
    if remembered_agents is not None:
        agents = [a for a in remembered_agents if a in deactivated]
    if restored is not None:
        back = [u for u in back if u in restored]
        seats = [h for h in seats if h.user_id in restored or h.user_id not in suspended]
    return ReactivationPlan(
        workspace_id=snapshot.workspace_id,
        at=at,
        restored_member_ids=back,
        restored_seats=seats,
        reactivated_agent_ids=agents,
        cancelled_deletion_ids=[
            d.id
            for d in snapshot.data_sources
            if d.status == "active" and d.deletion_scheduled_at and d.deletion_scheduled_at > at
        ],
    )


def pending_deletions(snapshot: WorkspaceSnapshot) -> list[ScheduledDeletion]:
    """The data-source deletions a snapshot has pending (for the overview's warning)."""
    return [
        ScheduledDeletion(data_source_id=d.id, bytes=d.bytes, delete_at=d.deletion_scheduled_at)
        for d in snapshot.data_sources
        if d.status == "active" and d.deletion_scheduled_at is not None
    ]


def due_deletions(scheduled: Iterable[ScheduledDeletion], at: datetime) -> list[ScheduledDeletion]:
    """The scheduled deletions due at ``at`` (``delete_at <= at``), in input order."""
    return [s for s in scheduled if s.delete_at <= at]

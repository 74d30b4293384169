"""The member roster: add, change role, remove (limits of SPEC §1.1, §1.2).

A role change resets ``role_granted_at``: the member kept at a revert is the admin whose
admin role was granted earliest, and a later change of role starts that clock again.
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import AddMember, RemoveMember, SetRole, UnassignSeat
from billing.decision import Outcome, event
from billing.errors import (
    INVALID_ARGUMENT,
    MEMBER_EXISTS,
    MEMBER_NOT_FOUND,
    SEAT_LIMIT_REACHED,
    DomainError,
)
from billing.retention import refuse_beyond_free_limit
from billing.seats import unassign_seat
from billing.state import BillingState, Member, seats_held


def _check_role(role: str, catalog: Catalog) -> None:
    if role not in catalog.roles.all:
        raise DomainError(
            INVALID_ARGUMENT,
            f"unknown role {role!r}",
            {"role": role, "known": list(catalog.roles.all)},
        )


def paid_user_limit(state: BillingState, catalog: Catalog) -> int | None:
    """Most members with a paid role under the plan in effect (or selected in the trial)."""
    if state.contract is not None:
        return None
    code = state.plan or (state.trial.selected_plan if state.trial else None)
    return catalog.plans[code].paid_users if code in catalog.plans else None


def _check_paid_users(state: BillingState, catalog: Catalog, extra: int = 1) -> None:
    limit = paid_user_limit(state, catalog)
    if limit is None or not catalog.roles.paid:
        return
    paid = sum(1 for m in state.members.values() if m.status == "active" and m.role in catalog.roles.paid)
    if paid + extra > limit:
        raise DomainError(
            SEAT_LIMIT_REACHED,
            f"the plan allows {limit} paid users",
            {"limit": limit, "paid_users": paid},
        )


def add_member(state: BillingState, cmd: AddMember, at: datetime, catalog: Catalog) -> Outcome:
    """Add a member (default role from the catalog), within the plan's limits."""
    role = cmd.role or catalog.roles.default
    _check_role(role, catalog)
    if cmd.user in state.members:
        raise DomainError(MEMBER_EXISTS, f"{cmd.user!r} is already a member", {"user": cmd.user})
    refuse_beyond_free_limit(state.status, catalog.free_limits(), "members", len(state.active_members()))
    if role in catalog.roles.paid:
        _check_paid_users(state, catalog)
    member = Member(role=role, role_granted_at=at)
    state = evolve(state, members={**state.members, cmd.user: member})
    return Outcome(state, [event("member_added", at, user=cmd.user, role=role)], "member added")


def set_role(state: BillingState, cmd: SetRole, at: datetime, catalog: Catalog) -> Outcome:
    """Change a member's role; the grant time restarts."""
    _check_role(cmd.role, catalog)
    member = state.members.get(cmd.user)
    if member is None:
        raise DomainError(MEMBER_NOT_FOUND, f"no member {cmd.user!r}", {"user": cmd.user})
    if member.role == cmd.role:
        return Outcome(state, [], "role unchanged")
    becomes_paid = cmd.role in catalog.roles.paid and member.role not in catalog.roles.paid
    if becomes_paid and member.status == "active":
        _check_paid_users(state, catalog)
    updated = evolve(member, role=cmd.role, role_granted_at=at)
    state = evolve(state, members={**state.members, cmd.user: updated})
    effects = [event("role_changed", at, user=cmd.user, from_role=member.role, to_role=cmd.role)]
    return Outcome(state, list(effects), "role changed")


def remove_member(state: BillingState, cmd: RemoveMember, at: datetime, catalog: Catalog) -> Outcome:
    """Remove a member; a paid seat they hold is unassigned first (credit or stock)."""
    if cmd.user not in state.members:
        raise DomainError(MEMBER_NOT_FOUND, f"no member {cmd.user!r}", {"user": cmd.user})
    effects = []
    if cmd.user in seats_held(state):
        released = unassign_seat(state, UnassignSeat(request_id=cmd.request_id, user=cmd.user), at, catalog)
        state, effects = released.state, released.effects
    members = {u: m for u, m in state.members.items() if u != cmd.user}
    state = evolve(state, members=members)
    return Outcome(state, [*effects, event("member_removed", at, user=cmd.user)], "member removed")

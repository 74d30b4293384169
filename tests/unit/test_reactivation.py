"""Reactivation, due deletions and applying plans to a snapshot (SPEC §2)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from billing.retention import (
    due_deletions,
    pending_deletions,
    plan_reactivation,
    plan_revert,
)
from billing.workspace import (
    Agent,
    Connection,
    DataSource,
    Member,
    SeatHolding,
    WorkspaceSnapshot,
    apply_deletions,
    apply_reactivation,
    apply_revert,
)
from tests.unit.retention_data import ACME, AT, LIMITS, POLICY, PRO, SEATS_ADMIN, day, member


def test_reactivation_on_day_5_restores_and_cancels_deletion() -> None:
    plan = plan_revert(ACME, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    reverted = apply_revert(ACME, plan)
    assert [(m.user_id, m.status, m.seat) for m in reverted.members] == [
        ("alice", "active", None),
        ("bob", "suspended", None),
        ("carol", "suspended", None),
    ]
    assert [c.status for c in reverted.connections] == ["deleted", "deleted"]
    assert reverted.slack_bot is False
    assert reverted.agents == [Agent(id="support-bot", status="deactivated")]
    assert pending_deletions(reverted) == plan.scheduled_deletions

    day5 = AT + timedelta(days=5)
    assert due_deletions(plan.scheduled_deletions, day5) == []
    react = plan_reactivation(reverted, plan, day5)
    assert react.restored_member_ids == ["bob", "carol"]
    assert react.restored_seats == [
        SeatHolding(user_id=u, seat=PRO) for u in ("alice", "bob", "carol")
    ]
    assert react.reactivated_agent_ids == ["support-bot"]
    assert react.cancelled_deletion_ids == ["handbook"]

    back = apply_reactivation(reverted, react)
    assert back.members == ACME.members
    assert back.agents == ACME.agents
    assert back.data_sources == ACME.data_sources
    # Connections stay deleted; the workspace may create them again.
    assert [c.status for c in back.connections] == ["deleted", "deleted"]
    assert pending_deletions(back) == []


def test_deletion_happens_on_time_without_reactivation() -> None:
    plan = plan_revert(ACME, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    reverted = apply_revert(ACME, plan)
    deadline = AT + timedelta(days=7)
    assert due_deletions(plan.scheduled_deletions, deadline - timedelta(microseconds=1)) == []
    due = due_deletions(plan.scheduled_deletions, deadline)
    assert [d.data_source_id for d in due] == ["handbook"]
    gone = apply_deletions(reverted, due)
    assert [(d.id, d.status) for d in gone.data_sources] == [
        ("handbook", "deleted"),
        ("faq", "active"),
    ]
    # Reactivating at or after the deadline cancels nothing: the deletion was due.
    assert plan_reactivation(reverted, plan, deadline).cancelled_deletion_ids == []


def test_cancelled_deletion_is_not_applied_by_a_stale_due_list() -> None:
    plan = plan_revert(ACME, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    reverted = apply_revert(ACME, plan)
    back = apply_reactivation(reverted, plan_reactivation(reverted, plan, AT + timedelta(days=5)))
    assert apply_deletions(back, plan.scheduled_deletions) == back


def test_reactivation_restores_only_what_the_revert_took() -> None:
    snap = ACME.model_copy(
        update={
            "members": [*ACME.members, member("eve", role="member", status="suspended")],
            "agents": [*ACME.agents, Agent(id="old-bot", status="deactivated")],
        }
    )
    plan = plan_revert(snap, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    reverted = apply_revert(snap, plan)
    react = plan_reactivation(reverted, plan, AT + timedelta(days=1))
    assert react.restored_member_ids == ["bob", "carol"]
    assert react.reactivated_agent_ids == ["support-bot"]
    # Without the recorded revert everything suspended or deactivated comes back.
    blind = plan_reactivation(reverted, None, AT + timedelta(days=1))
    assert blind.restored_member_ids == ["bob", "carol", "eve"]
    assert blind.reactivated_agent_ids == ["support-bot", "old-bot"]
    assert blind.restored_seats == []  # the revert released the seats; no record of them


_roles = st.sampled_from(["admin", "member", "editor"])


@st.composite
def _snapshots(draw: st.DrawFn) -> WorkspaceSnapshot:
    users = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), unique=True, max_size=8))
    members = [
        Member(
            user_id=u,
            role=draw(_roles),
            role_granted_at=draw(st.none() | st.integers(0, 20).map(lambda d: day(1, 1 + d))),
            status=draw(st.sampled_from(["active", "active", "suspended"])),
            seat=draw(st.none() | st.just(PRO)),
        )
        for u in users
    ]
    sizes = draw(st.lists(st.integers(0, 100_000_000), max_size=5))
    return WorkspaceSnapshot(
        workspace_id="w",
        members=members,
        connections=[Connection(id=f"c{i}") for i in range(draw(st.integers(0, 3)))],
        data_sources=[DataSource(id=f"d{i}", bytes=b) for i, b in enumerate(sizes)],
        agents=[Agent(id=f"a{i}") for i in range(draw(st.integers(0, 3)))],
        slack_bot=draw(st.booleans()),
        spaces=draw(st.integers(0, 9)),
    )


@given(_snapshots(), st.integers(0, 10))
def test_revert_properties(snap: WorkspaceSnapshot, react_day: int) -> None:
    plan = plan_revert(snap, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    active = [m for m in snap.members if m.status == "active"]
    # Exactly one member kept when any is active; nobody is dropped or invented.
    assert len(plan.kept_member_ids) == min(1, len(active))
    assert sorted(plan.kept_member_ids + plan.suspended_member_ids) == sorted(
        m.user_id for m in active
    )
    admins = [m for m in active if m.role == "admin"]
    if admins:
        assert plan.kept_member_ids[0] in {m.user_id for m in admins}
    reverted = apply_revert(snap, plan)
    assert apply_revert(reverted, plan) == reverted
    assert all(c.status == "deleted" for c in reverted.connections)
    assert all(a.status == "deactivated" for a in reverted.agents)
    assert sum(m.status == "active" for m in reverted.members) == len(plan.kept_member_ids)
    react = plan_reactivation(reverted, plan, AT + timedelta(days=react_day))
    back = apply_reactivation(reverted, react)
    assert apply_reactivation(back, react) == back
    assert back.members == snap.members
    assert back.agents == snap.agents
    if react_day < POLICY.deletion_delay_days:
        assert back.data_sources == snap.data_sources

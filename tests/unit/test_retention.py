"""Revert to free and reactivation decisions (SPEC §2), and applying them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.retention import (
    FreeLimits,
    RetentionPolicy,
    due_deletions,
    free_limit_violations,
    members_to_keep,
    pending_deletions,
    plan_reactivation,
    plan_revert,
)
from billing.workspace import (
    Agent,
    Connection,
    DataSource,
    LimitViolation,
    Member,
    MemberSeat,
    ScheduledDeletion,
    SeatHolding,
    WorkspaceSnapshot,
    apply_deletions,
    apply_reactivation,
    apply_revert,
)

AT = datetime(2026, 11, 3, tzinfo=UTC)  # end of the cancelled period
POLICY = RetentionPolicy()
LIMITS = FreeLimits(max_members=5, max_connectors=3, max_spaces=5)
SEATS_ADMIN = frozenset({"admin"})
PRO = MemberSeat(seat_type="pro", cycle="monthly")


def _day(month: int, day: int) -> datetime:
    return datetime(2026, month, day, tzinfo=UTC)


def _member(
    user: str, role: str = "admin", granted: datetime | None = None, **kw: object
) -> Member:
    return Member.model_validate({"user_id": user, "role": role, "role_granted_at": granted, **kw})


# The SPEC §7 scenario workspace.
ACME = WorkspaceSnapshot(
    workspace_id="acme",
    members=[
        _member("alice", granted=_day(1, 5), seat=PRO),
        _member("bob", granted=_day(2, 1), seat=PRO),
        _member("carol", role="member", seat=PRO),
    ],
    connections=[Connection(id="notion"), Connection(id="slack")],
    data_sources=[
        DataSource(id="handbook", bytes=80_000_000),
        DataSource(id="faq", bytes=1_000_000),
    ],
    agents=[Agent(id="support-bot")],
    slack_bot=True,
    spaces=2,
    billing_contact_email="billing@acme.test",
)


def test_revert_of_the_scenario_workspace() -> None:
    plan = plan_revert(ACME, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    assert plan.kept_member_ids == ["alice"]
    assert plan.suspended_member_ids == ["bob", "carol"]
    assert plan.deleted_connection_ids == ["notion", "slack"]
    assert plan.remove_slack_bot is True
    assert plan.deactivated_agent_ids == ["support-bot"]
    # The 80 MB source goes 7 days later; the 1 MB one stays.
    delete_at = datetime(2026, 11, 10, tzinfo=UTC)
    assert plan.scheduled_deletions == [
        ScheduledDeletion(data_source_id="handbook", bytes=80_000_000, delete_at=delete_at)
    ]
    assert plan.warning_email is not None
    assert plan.warning_email.to == "billing@acme.test"
    assert plan.warning_email.delete_at == delete_at
    assert [d.data_source_id for d in plan.warning_email.data_sources] == ["handbook"]
    assert (
        plan.warning_email.idempotency_key
        == "revert:acme:2026-11-03T00:00:00+00:00:deletion-warning"
    )
    assert [h.user_id for h in plan.previous_seats] == ["alice", "bob", "carol"]
    assert plan.limit_violations == []


@pytest.mark.parametrize(
    ("size", "scheduled"),
    [(50_000_000, False), (50_000_001, True), (0, False), (80_000_000, True)],
)
def test_over_50_mb_means_strictly_more(size: int, scheduled: bool) -> None:
    snap = WorkspaceSnapshot(workspace_id="w", data_sources=[DataSource(id="d", bytes=size)])
    plan = plan_revert(snap, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    assert bool(plan.scheduled_deletions) is scheduled
    assert (plan.warning_email is not None) is scheduled


def test_one_email_lists_every_large_source_and_falls_back_to_kept_member() -> None:
    snap = WorkspaceSnapshot(
        workspace_id="w",
        members=[_member("zed", granted=_day(1, 1), email="zed@w.test")],
        data_sources=[DataSource(id="a", bytes=60_000_000), DataSource(id="b", bytes=70_000_000)],
    )
    plan = plan_revert(snap, AT, RetentionPolicy(deletion_delay_days=3), SEATS_ADMIN, limits=LIMITS)
    assert plan.warning_email is not None
    assert plan.warning_email.to == "zed@w.test"
    assert [d.data_source_id for d in plan.warning_email.data_sources] == ["a", "b"]
    assert plan.warning_email.delete_at == datetime(2026, 11, 6, tzinfo=UTC)
    nobody = plan_revert(
        snap.model_copy(update={"members": []}), AT, POLICY, SEATS_ADMIN, limits=LIMITS
    )
    assert nobody.warning_email is not None
    assert nobody.warning_email.to is None


@pytest.mark.parametrize(
    ("members", "admin_roles", "kept"),
    [
        pytest.param(
            [_member("alice", granted=_day(1, 5)), _member("bob", granted=_day(2, 1))],
            SEATS_ADMIN,
            "alice",
            id="earliest-admin",
        ),
        # alice was admin since Jan 5, demoted, re-promoted on Mar 1: her grant time resets.
        pytest.param(
            [_member("alice", granted=_day(3, 1)), _member("bob", granted=_day(2, 1))],
            SEATS_ADMIN,
            "bob",
            id="demoted-and-repromoted",
        ),
        pytest.param(
            [
                _member("dave", granted=_day(2, 1)),
                _member("bob", granted=_day(2, 1)),
                _member("carl", granted=_day(2, 1)),
            ],
            SEATS_ADMIN,
            "bob",
            id="tie-by-user-id",
        ),
        pytest.param(
            [_member("amy", role="member", granted=_day(1, 1)), _member("zoe", granted=_day(6, 1))],
            SEATS_ADMIN,
            "zoe",
            id="admin-beats-earlier-member",
        ),
        pytest.param(
            [
                _member("old", granted=_day(1, 1), status="suspended"),
                _member("new", granted=_day(5, 1)),
            ],
            SEATS_ADMIN,
            "new",
            id="suspended-admin-not-kept",
        ),
        pytest.param(
            [_member("unknown", granted=None), _member("known", granted=_day(9, 1))],
            SEATS_ADMIN,
            "known",
            id="unknown-grant-ranks-last",
        ),
        pytest.param(
            [
                _member("x", role="org_admin", granted=_day(4, 1)),
                _member("y", role="admin", granted=_day(1, 1)),
            ],
            frozenset({"org_admin"}),
            "x",
            id="credits-catalog-org-admin",
        ),
        pytest.param(
            [
                _member("m2", role="editor", granted=_day(1, 2)),
                _member("m1", role="viewer", granted=_day(1, 3)),
                _member("m0", role="viewer"),
            ],
            SEATS_ADMIN,
            "m2",
            id="no-admin-earliest-granted",
        ),
        pytest.param(
            [_member("b", role="viewer"), _member("a", role="viewer")],
            SEATS_ADMIN,
            "a",
            id="no-admin-no-times-smallest-id",
        ),
    ],
)
def test_member_kept(members: list[Member], admin_roles: frozenset[str], kept: str) -> None:
    snap = WorkspaceSnapshot(workspace_id="w", members=members)
    plan = plan_revert(snap, AT, POLICY, admin_roles, limits=LIMITS)
    assert plan.kept_member_ids == [kept]
    active = [m.user_id for m in members if m.status == "active"]
    assert sorted(plan.suspended_member_ids) == sorted(u for u in active if u != kept)


def test_keep_members_policy_and_members_to_keep() -> None:
    assert members_to_keep(ACME.members, SEATS_ADMIN, 2) == ["alice", "bob"]
    assert members_to_keep([], SEATS_ADMIN) == []


def test_free_limit_violations_after_revert() -> None:
    snap = ACME.model_copy(update={"spaces": 8})
    plan = plan_revert(
        snap,
        AT,
        RetentionPolicy(keep_members=3),
        SEATS_ADMIN,
        limits=FreeLimits(max_members=2, max_connectors=0, max_spaces=5),
    )
    # Connections are all deleted, so the connector limit always holds after a revert.
    assert plan.limit_violations == [
        LimitViolation(limit="members", current=3, allowed=2),
        LimitViolation(limit="spaces", current=8, allowed=5),
    ]
    assert free_limit_violations(6, 4, 5, LIMITS) == [
        LimitViolation(limit="members", current=6, allowed=5),
        LimitViolation(limit="connectors", current=4, allowed=3),
    ]
    assert free_limit_violations(100, 100, 100, FreeLimits()) == []


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
            "members": [*ACME.members, _member("eve", role="member", status="suspended")],
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


def test_already_pending_deletion_keeps_its_deadline() -> None:
    earlier = AT + timedelta(days=2)
    snap = WorkspaceSnapshot(
        workspace_id="w",
        data_sources=[DataSource(id="d", bytes=90_000_000, deletion_scheduled_at=earlier)],
    )
    plan = plan_revert(snap, AT, POLICY, SEATS_ADMIN, limits=LIMITS)
    assert plan.scheduled_deletions == []
    assert plan.warning_email is None
    assert pending_deletions(apply_revert(snap, plan))[0].delete_at == earlier


def test_naive_times_rejected() -> None:
    with pytest.raises(ValidationError):
        Member(user_id="a", role="admin", role_granted_at=datetime(2026, 1, 1))
    with pytest.raises(ValidationError):
        plan_revert(ACME, datetime(2026, 11, 3), POLICY, SEATS_ADMIN, limits=LIMITS)


_roles = st.sampled_from(["admin", "member", "editor"])


@st.composite
def _snapshots(draw: st.DrawFn) -> WorkspaceSnapshot:
    users = draw(st.lists(st.text("abcdefgh", min_size=1, max_size=3), unique=True, max_size=8))
    members = [
        Member(
            user_id=u,
            role=draw(_roles),
            role_granted_at=draw(st.none() | st.integers(0, 20).map(lambda d: _day(1, 1 + d))),
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

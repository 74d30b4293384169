"""Revert to free: who stays, what goes, what is warned (SPEC §2 "Revert to free")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from billing.catalog import load_catalog
from billing.retention import (
    FreeLimits,
    RetentionPolicy,
    free_limit_violations,
    members_to_keep,
    pending_deletions,
    plan_revert,
)
from billing.workspace import (
    DataSource,
    LimitViolation,
    Member,
    ScheduledDeletion,
    WorkspaceSnapshot,
    apply_revert,
)
from tests.unit.retention_data import ACME, AT, LIMITS, POLICY, SEATS_ADMIN, day, member


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


def test_one_email_lists_every_large_source_and_falls_back_to_keptmember() -> None:
    snap = WorkspaceSnapshot(
        workspace_id="w",
        members=[member("zed", granted=day(1, 1), email="zed@w.test")],
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
            [member("alice", granted=day(1, 5)), member("bob", granted=day(2, 1))],
            SEATS_ADMIN,
            "alice",
            id="earliest-admin",
        ),
        # alice was admin since Jan 5, demoted, re-promoted on Mar 1: her grant time resets.
        pytest.param(
            [member("alice", granted=day(3, 1)), member("bob", granted=day(2, 1))],
            SEATS_ADMIN,
            "bob",
            id="demoted-and-repromoted",
        ),
        pytest.param(
            [
                member("dave", granted=day(2, 1)),
                member("bob", granted=day(2, 1)),
                member("carl", granted=day(2, 1)),
            ],
            SEATS_ADMIN,
            "bob",
            id="tie-by-user-id",
        ),
        pytest.param(
            [member("amy", role="member", granted=day(1, 1)), member("zoe", granted=day(6, 1))],
            SEATS_ADMIN,
            "zoe",
            id="admin-beats-earlier-member",
        ),
        pytest.param(
            [
                member("old", granted=day(1, 1), status="suspended"),
                member("new", granted=day(5, 1)),
            ],
            SEATS_ADMIN,
            "new",
            id="suspended-admin-not-kept",
        ),
        pytest.param(
            [member("unknown", granted=None), member("known", granted=day(9, 1))],
            SEATS_ADMIN,
            "known",
            id="unknown-grant-ranks-last",
        ),
        pytest.param(
            [
                member("x", role="org_admin", granted=day(4, 1)),
                member("y", role="admin", granted=day(1, 1)),
            ],
            frozenset({"org_admin"}),
            "x",
            id="credits-catalog-org-admin",
        ),
        pytest.param(
            [
                member("m2", role="editor", granted=day(1, 2)),
                member("m1", role="viewer", granted=day(1, 3)),
                member("m0", role="viewer"),
            ],
            SEATS_ADMIN,
            "m2",
            id="no-admin-earliest-granted",
        ),
        pytest.param(
            [member("b", role="viewer"), member("a", role="viewer")],
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


def test_revert_with_the_shipped_seats_catalog() -> None:
    catalog = load_catalog("seats")
    assert catalog.free_plan is not None
    free = catalog.plan(catalog.free_plan)
    limits = FreeLimits(
        max_members=free.max_members, max_connectors=free.connectors, max_spaces=free.spaces
    )
    snap = ACME.model_copy(update={"spaces": 6})
    plan = plan_revert(
        snap, AT, catalog.retention, frozenset(catalog.roles.billing_admin), limits=limits
    )
    assert plan.kept_member_ids == ["alice"]
    assert [d.delete_at for d in plan.scheduled_deletions] == [datetime(2026, 11, 10, tzinfo=UTC)]
    assert plan.limit_violations == [LimitViolation(limit="spaces", current=6, allowed=5)]

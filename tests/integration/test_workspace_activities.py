"""The workspace database activities against the embedded PostgreSQL (SPEC §2 revert, reactivation).

Activity methods are called directly (they are plain async methods). Every test uses its
own workspace id, so tests are independent although they share one database.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError

from activities.workspace import WorkspaceActivities
from billing.retention import plan_reactivation
from billing.workspace import (
    Agent,
    Connection,
    DataSource,
    WorkspaceSnapshot,
    apply_deletions,
    apply_reactivation,
    apply_revert,
)
from contracts.workspace import DueDeletions
from db import workspace_repo
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from devstack.postgres import EmbeddedPostgres
from services.workspaces import store_workspace
from tests.integration.workspace_support import (
    REVERT_AT,
    dump,
    new_workspace_id,
    revert_plan,
    setup_for,
)

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
def acts(engine: AsyncEngine) -> WorkspaceActivities:
    return WorkspaceActivities(session_factory(engine))


@pytest.fixture
async def ws(acts: WorkspaceActivities) -> str:
    """A registered workspace (see `setup_for`)."""
    workspace_id = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(workspace_id))
    return workspace_id


async def test_registering_twice_leaves_the_same_rows(acts: WorkspaceActivities, engine: AsyncEngine) -> None:
    ws = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(ws))
    first = await dump(engine, ws)
    await store_workspace(acts._sessions, setup_for(ws))
    assert await dump(engine, ws) == first
    assert [(m["user_id"], m["seat_type"], m["seat_cycle"]) for m in first["members"]] == [
        ("u-alice", "standard", "monthly"),
        ("u-bob", "standard", "monthly"),
        ("u-carol", "standard", "annual"),
        ("u-dave", None, None),
    ]
    assert [(d["id"], d["connection_id"], d["data_source_id"]) for d in first["synced_documents"]] == [
        ("doc-big", None, "ds-big"),
        ("doc-d1", "c-drive", None),
        ("doc-n1", "c-notion", None),
        ("doc-n2", "c-notion", None),
        ("doc-small", None, "ds-small"),
    ]
    assert len(first["slack_bots"]) == 1
    assert first["workspaces"][0]["spaces"] == 3


async def test_the_snapshot_round_trips(acts: WorkspaceActivities, ws: str) -> None:
    setup = setup_for(ws)
    assert await acts.load_snapshot(ws) == WorkspaceSnapshot(
        workspace_id=ws,
        members=setup.members,
        connections=[Connection(id="c-drive"), Connection(id="c-notion")],
        data_sources=[DataSource(id="ds-big", bytes=60_000_000), DataSource(id="ds-small", bytes=1_000_000)],
        agents=[Agent(id="a-1"), Agent(id="a-2")],
        slack_bot=True,
        spaces=3,
        billing_contact_email="billing@example.com",
    )


async def test_an_unknown_workspace_is_a_non_retryable_error(acts: WorkspaceActivities) -> None:
    with pytest.raises(ApplicationError) as error:
        await acts.load_snapshot("ws-nobody")
    assert error.value.type == "workspace_not_found"
    assert error.value.non_retryable


async def test_a_revert_applied_twice_is_the_pure_revert(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    before = await acts.load_snapshot(ws)
    plan = revert_plan(before)
    await acts.apply_revert(plan)
    once = await dump(engine, ws)
    await acts.apply_revert(plan)
    assert await dump(engine, ws) == once
    assert await acts.load_snapshot(ws) == apply_revert(before, plan)

    members = {m["user_id"]: (m["status"], m["seat_type"], m["suspended_at"]) for m in once["members"]}
    assert members == {
        "u-alice": ("active", None, None),
        "u-bob": ("suspended", None, REVERT_AT),
        "u-carol": ("suspended", None, REVERT_AT),
        "u-dave": ("suspended", None, REVERT_AT),
    }
    assert [(c["id"], c["status"], c["deleted_at"]) for c in once["connections"]] == [
        ("c-drive", "deleted", REVERT_AT),
        ("c-notion", "deleted", REVERT_AT),
    ]
    assert [d["id"] for d in once["synced_documents"]] == ["doc-big", "doc-small"]
    assert once["slack_bots"] == []
    assert {a["status"] for a in once["agents"]} == {"deactivated"}
    assert [(d["id"], d["deletion_scheduled_at"]) for d in once["data_sources"]] == [
        ("ds-big", REVERT_AT + 7 * DAY),
        ("ds-small", None),
    ]
    [email] = once["email_outbox"]
    assert (email["template"], email["to_address"]) == ("data_source_deletion_warning", "billing@example.com")
    assert email["data"]["data_sources"][0]["data_source_id"] == "ds-big"
    assert sorted(e["event"] for e in once["subscription_events"]) == [
        "agent_deactivated",
        "agent_deactivated",
        "connection_deleted",
        "connection_deleted",
        "data_source_deletion_warned",
        "member_suspended",
        "member_suspended",
        "member_suspended",
        "revert_applied",
        "slack_bot_removed",
    ]


async def test_a_crash_inside_the_revert_changes_nothing_and_the_retry_completes(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies mid-transaction (simulated by a failure after half the statements)."""
    reference = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(reference))
    await acts.apply_revert(revert_plan(await acts.load_snapshot(reference)))
    before_dump = await dump(engine, ws)
    plan = revert_plan(await acts.load_snapshot(ws))

    async def killed(*args: object, **kwargs: object) -> None:
        raise ConnectionResetError("worker killed")

    monkeypatch.setattr(workspace_repo, "set_agents", killed)
    with pytest.raises(ConnectionResetError):
        await acts.apply_revert(plan)
    assert await dump(engine, ws) == before_dump
    monkeypatch.undo()

    await acts.apply_revert(plan)
    await acts.apply_revert(plan)
    after, expected = await dump(engine, ws), await dump(engine, reference)
    for table in ("members", "connections", "synced_documents", "data_sources", "agents", "slack_bots"):
        strip = [{k: v for k, v in row.items() if k != "workspace_id"} for row in after[table]]
        assert strip == [{k: v for k, v in row.items() if k != "workspace_id"} for row in expected[table]]
    assert len(after["subscription_events"]) == len(expected["subscription_events"]) == 10
    assert len(after["email_outbox"]) == 1


async def test_two_attempts_at_once_apply_the_revert_once(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    before = await acts.load_snapshot(ws)
    plan = revert_plan(before)
    await asyncio.gather(acts.apply_revert(plan), acts.apply_revert(plan))
    assert await acts.load_snapshot(ws) == apply_revert(before, plan)
    assert len((await dump(engine, ws))["subscription_events"]) == 10


async def test_reactivation_restores_members_seats_agents_and_cancels_the_deletion(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    revert = revert_plan(await acts.load_snapshot(ws))
    await acts.apply_revert(revert)
    reverted = await acts.load_snapshot(ws)
    plan = plan_reactivation(reverted, revert, REVERT_AT + 3 * DAY)
    await acts.apply_reactivation(plan)
    once = await dump(engine, ws)
    await acts.apply_reactivation(plan)
    assert await dump(engine, ws) == once
    after = await acts.load_snapshot(ws)
    assert after == apply_reactivation(reverted, plan)

    assert after.members == setup_for(ws).members  # everyone back, with the same seats
    assert {a.status for a in after.agents} == {"active"}
    assert [(d.id, d.deletion_scheduled_at) for d in after.data_sources] == [
        ("ds-big", None),
        ("ds-small", None),
    ]
    assert {c.status for c in after.connections} == {"deleted"}
    assert [d["id"] for d in once["synced_documents"]] == ["doc-big", "doc-small"]
    assert not after.slack_bot
    restored = [e["data"]["user"] for e in once["subscription_events"] if e["event"] == "member_restored"]
    assert sorted(restored) == ["u-bob", "u-carol", "u-dave"]


async def test_due_deletions_happen_on_time_and_only_for_the_big_source(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str
) -> None:
    revert = revert_plan(await acts.load_snapshot(ws))
    await acts.apply_revert(revert)
    reverted = await acts.load_snapshot(ws)
    deadline = REVERT_AT + 7 * DAY

    assert await acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=deadline - DAY)) == []
    assert await acts.load_snapshot(ws) == reverted

    assert await acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=deadline)) == ["ds-big"]
    once = await dump(engine, ws)
    assert await acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=deadline)) == ["ds-big"]
    assert await dump(engine, ws) == once

    assert await acts.load_snapshot(ws) == apply_deletions(reverted, revert.scheduled_deletions)
    assert [(d["id"], d["status"], d["deleted_at"]) for d in once["data_sources"]] == [
        ("ds-big", "deleted", deadline),
        ("ds-small", "active", None),
    ]
    assert [d["id"] for d in once["synced_documents"]] == ["doc-small"]
    assert [e["data"] for e in once["subscription_events"] if e["event"] == "data_source_deleted"] == [
        {"data_source_id": "ds-big"}
    ]


async def test_a_reactivation_before_the_deadline_wins(acts: WorkspaceActivities, ws: str) -> None:
    revert = revert_plan(await acts.load_snapshot(ws))
    await acts.apply_revert(revert)
    await acts.apply_reactivation(plan_reactivation(await acts.load_snapshot(ws), revert, REVERT_AT + DAY))
    at = REVERT_AT + 30 * DAY
    assert await acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=at)) == []
    assert {d.status for d in (await acts.load_snapshot(ws)).data_sources} == {"active"}

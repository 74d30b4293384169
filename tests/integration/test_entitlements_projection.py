"""The entitlements projection, written by `write_decision` in the record's transaction, against
the embedded PostgreSQL: one row per workspace, only a newer decision replaces it, and an
``entitlements.updated`` event (the full snapshot) exactly when the grant changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from activities.decision import write_decision
from billing import COMMAND_ADAPTER, apply, new_subscription
from billing.catalog import load_catalog
from billing.state import BillingState, Member
from billing.workspace import Member as WorkspaceMember
from contracts.records import DecisionRecord
from contracts.workspace import ConnectionSetup, WorkspaceSetup
from db import entitlement_repo
from db.engine import session_factory
from db.entitlement_checks import CheckReader
from db.tokens import hash_token, issue
from services.workspaces import store_workspace
from tests.integration.workspace_support import new_workspace_id
from workflows.record import build_record

SEATS = load_catalog("seats")
AT = datetime(2026, 9, 3, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def sessions(migrated_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(migrated_engine)


class Story:
    """A subscription decided by the pure domain, each decision written as the workflow does."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ws: str) -> None:
        self.sessions, self.ws, self.version = sessions, ws, 1
        roster = {"alice": Member(role="admin", role_granted_at=AT)}
        decision = new_subscription(ws, SEATS, AT, roster)
        self.state: BillingState = decision.state
        self.last = build_record(decision.state, decision.state, decision.effects, SEATS, AT, 1)

    async def write(self, record: DecisionRecord | None = None) -> None:
        async with self.sessions.begin() as session:
            await write_decision(session, record or self.last)

    async def run(self, kind: str, at: datetime = AT, **fields: Any) -> DecisionRecord:
        command = COMMAND_ADAPTER.validate_python({"kind": kind, "request_id": f"r{self.version}", **fields})
        decision = apply(self.state, command, at, SEATS)
        self.version += 1
        self.last = build_record(
            self.state, decision.state, decision.effects, SEATS, at, self.version, command
        )
        self.state = decision.state
        await self.write()
        return self.last

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            return [dict(r._mapping) for r in await session.execute(text(sql), {"ws": self.ws})]

    async def events(self) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT source_key, payload FROM events WHERE workspace_id = :ws"
            " AND type = 'entitlements.updated' ORDER BY workspace_seq"
        )


@pytest.fixture
async def story(sessions: async_sessionmaker[AsyncSession]) -> Story:
    ws = new_workspace_id()
    alice = WorkspaceMember(user_id="alice", role="admin", role_granted_at=AT)
    await store_workspace(sessions, WorkspaceSetup(workspace_id=ws, members=[alice], spaces=2))
    subject = Story(sessions, ws)
    await subject.write()
    return subject


async def test_an_event_exactly_when_the_grant_changes(story: Story) -> None:
    [created] = await story.events()
    assert created["source_key"] == "entitlements:1"
    assert created["payload"]["plan"] == "free"
    assert created["payload"]["limits"]["spaces"] == {"limit": 5, "used": 2, "remaining": 3}
    await story.write()  # the same record again (an activity retry): nothing new
    assert len(await story.events()) == 1
    await story.run("add_member", user="bob")  # the seats' credit pool grows: a change
    [row] = await story.rows("SELECT version, members_used FROM entitlements WHERE workspace_id = :ws")
    assert row == {"version": 2, "members_used": 2}
    assert [e["payload"]["credits"]["included"] for e in await story.events()] == [100, 200]
    await story.run("set_role", user="bob", role="admin")  # nothing granted changes
    assert len(await story.events()) == 2
    await story.run("assign_seat", user="bob", type="pro")  # the checkout: business, active
    events = await story.events()
    assert [e["source_key"] for e in events] == ["entitlements:1", "entitlements:2", "entitlements:4"]
    full = events[-1]["payload"]
    assert (full["plan"], full["status"], full["active"]) == ("business", "active", True)
    assert full["limits"]["paid_seats"] == {"limit": 100, "used": 1, "remaining": 99}
    assert full["limits"]["members"] == {"limit": None, "used": 2, "remaining": None}
    assert full["credits"]["included"] == 1000 + 100


async def test_a_late_older_record_changes_nothing(story: Story) -> None:
    older = await story.run("add_member", user="bob")
    await story.run("assign_seat", user="bob", type="pro")
    await story.write(older)  # a late attempt of decision 2 after decision 3
    [row] = await story.rows("SELECT version, plan, members_used FROM entitlements WHERE workspace_id = :ws")
    assert row == {"version": 3, "plan": "business", "members_used": 2}
    assert len(await story.events()) == 3


async def test_records_from_before_entitlements_decode_and_project_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ws = new_workspace_id()
    await store_workspace(sessions, WorkspaceSetup(workspace_id=ws))
    story = Story(sessions, ws)
    old = story.last.model_dump(mode="json", exclude={"entitlements"})
    record = DecisionRecord.model_validate(old)  # as a recorded history carries it
    assert record.entitlements is None
    await story.write(record)
    assert await story.rows("SELECT * FROM entitlements WHERE workspace_id = :ws") == []
    assert await story.rows("SELECT * FROM subscriptions WHERE workspace_id = :ws") != []


async def test_connectors_and_spaces_are_counted_when_read(story: Story) -> None:
    setup = WorkspaceSetup(
        workspace_id=story.ws,
        spaces=4,
        members=[WorkspaceMember(user_id="alice", role="admin", role_granted_at=AT)],
        connections=[ConnectionSetup(id=c, kind="notion") for c in ("a", "b", "c")],
    )
    await store_workspace(story.sessions, setup)
    async with story.sessions() as session:
        view = await entitlement_repo.view(session, story.ws, AT + timedelta(days=1))
    assert view is not None
    assert view.limits["connectors"].model_dump() == {"limit": 3, "used": 3, "remaining": 0}
    assert view.limits["spaces"].model_dump() == {"limit": 5, "used": 4, "remaining": 1}
    # The check's one statement reads the same, and answers for the token with it.
    checks = CheckReader(story.sessions.kw["bind"])
    async with story.sessions.begin() as session:
        token = await session.run_sync(lambda s: issue(s, "projection test", "service"))
    try:
        good, bad = hash_token(token.secret), hash_token("not-a-token")
        assert await checks.row(good, story.ws, "connectors") == (True, True, 3, 3)
        assert await checks.row(good, story.ws, "spaces") == (True, True, 5, 4)
        assert await checks.row(good, story.ws, "feature") == (True, True, [])
        assert await checks.row(good, "nobody", "members") == (True, None, None, None)
        assert (await checks.row(bad, story.ws, "members"))[0] is False
    finally:
        await checks.close()

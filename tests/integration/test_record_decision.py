"""`record_decision`: one decision's record in one transaction, against the embedded PostgreSQL.

The workflow writes everything a decision records through this one activity (roster,
seats, seat ledger, timeline, outbox, projection, audit). Temporal runs it at least once,
so every part is keyed: writing the same record again must change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.workspace import WorkspaceActivities
from billing.workspace import Member, MemberSeat
from contracts.records import (
    AuditEntry,
    DecisionRecord,
    OutboxEmail,
    RoleChange,
    SeatLedgerEntry,
    TimelineEvent,
)
from contracts.workspace import WorkspaceDeletion
from db import records_repo
from db.engine import session_factory
from services.workspaces import store_workspace
from tests.integration.workspace_support import (
    decision,
    dump,
    new_workspace_id,
    projection,
    scalars,
    setup_for,
)

AT = datetime(2026, 2, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MONTHLY = MemberSeat(seat_type="standard", cycle="monthly")
ANNUAL = MemberSeat(seat_type="standard", cycle="annual")
ROLE = (
    "SELECT role || ' ' || role_granted_at::date FROM members WHERE workspace_id = :ws AND user_id = 'u-erin'"
)
SEATS = (
    "SELECT user_id || ' ' || coalesce(seat_type || '/' || seat_cycle, '-') FROM members"
    " WHERE workspace_id = :ws ORDER BY user_id"
)


@pytest.fixture(scope="module")
def acts(migrated_engine: AsyncEngine) -> WorkspaceActivities:
    return WorkspaceActivities(session_factory(migrated_engine))


@pytest.fixture
async def ws(acts: WorkspaceActivities) -> str:
    """A registered workspace (see `setup_for`: billing contact, admins Alice and Bob)."""
    workspace_id = new_workspace_id()
    await store_workspace(acts._sessions, setup_for(workspace_id))
    return workspace_id


def erin(role: str = "user", at: datetime = AT - 30 * DAY) -> Member:
    return Member(user_id="u-erin", role=role, role_granted_at=at, email="erin@example.com")


def ledger(ws: str, key: str, user: str, quantity: int, seat: MemberSeat = MONTHLY) -> SeatLedgerEntry:
    return SeatLedgerEntry.model_validate(
        {
            "workspace_id": ws,
            "entry_key": key,
            "at": AT,
            "user_id": user,
            "seat_type": seat.seat_type,
            "cycle": seat.cycle,
            "quantity": quantity,
            "reason": "assigned" if quantity > 0 else "released",
        }
    )


def email(ws: str, key: str, to: str | None = None) -> OutboxEmail:
    return OutboxEmail(
        workspace_id=ws,
        idempotency_key=f"{ws}|{key}",
        template=key,
        to=to,
        at=AT,
        data={"ends_at": "2026-03-01"},
    )


def everything(ws: str, version: int = 5) -> DecisionRecord:
    """A record with every part: a new member, a role change, seats, ledger, events, emails, audit."""
    return decision(
        ws,
        version,
        new_members=[erin()],
        role_changes=[RoleChange(workspace_id=ws, user_id="u-dave", role="admin", at=AT)],
        seats={"u-erin": MONTHLY, "u-carol": None},
        seat_entries=[ledger(ws, "ledger:0", "u-erin", 1), ledger(ws, "ledger:1", "u-carol", -1, ANNUAL)],
        events=[
            TimelineEvent(at=AT, event="plan_changed", dedupe_key="req-1:plan", data={"to": "business"}),
            TimelineEvent(at=AT, event="seat_assigned", dedupe_key="req-1:seat", data={"user": "u-erin"}),
        ],
        emails=[email(ws, "cancellation_confirmation"), email(ws, "receipt", to="finance@example.com")],
        audit=AuditEntry(
            workspace_id=ws,
            request_id="req-1",
            at=AT,
            actor="staff:sam",
            action="change_plan",
            reason="customer asked by phone",
            before={"plan": "team"},
            after={"plan": "business"},
        ),
    )


async def test_a_stale_projection_never_overwrites_a_newer_one(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    await acts.record_decision(decision(ws, 2, projection=projection(ws, 2, seats=5)))
    stale = TimelineEvent(at=AT, event="trial_started", dedupe_key="stale")
    await acts.record_decision(
        decision(ws, 1, projection=projection(ws, 1, status="trialing", seats=1), events=[stale])
    )
    await acts.record_decision(decision(ws, 2, projection=projection(ws, 2, seats=5)))  # a retry
    rows = await dump(migrated_engine, ws)
    [row] = rows["subscriptions"]
    assert (row["version"], row["status"], row["paid_seats"], row["credit_balance"]) == (
        2,
        "active",
        5,
        1_250,
    )
    assert row["pending_change"]["to_plan"] == "team"
    # Only the projection is versioned: the late record's keyed event is still part of the timeline.
    assert [e["event"] for e in rows["subscription_events"]] == ["trial_started"]

    await acts.record_decision(decision(ws, 3, projection=projection(ws, 3, status="canceling", seats=4)))
    [row] = (await dump(migrated_engine, ws))["subscriptions"]
    assert (row["version"], row["status"], row["paid_seats"]) == (3, "canceling", 4)


async def test_writing_the_same_record_twice_writes_every_row_once(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    record = everything(ws)
    await acts.record_decision(record)
    once = await dump(migrated_engine, ws)
    await acts.record_decision(record)
    assert await dump(migrated_engine, ws) == once

    assert [(e["event"], e["data"]) for e in once["subscription_events"]] == [
        ("plan_changed", {"to": "business"}),
        ("seat_assigned", {"user": "u-erin"}),
    ]
    [logged] = once["audit_log"]
    assert (logged["request_id"], logged["actor"], logged["before"], logged["after"]) == (
        "req-1",
        "staff:sam",
        {"plan": "team"},
        {"plan": "business"},
    )
    outbox = sorted((e["template"], e["to_address"], e["sent_at"]) for e in once["email_outbox"])
    assert outbox == [
        ("cancellation_confirmation", "billing@example.com", None),  # resolved: the billing contact
        ("receipt", "finance@example.com", None),  # an explicit recipient is kept
    ]
    ledger_rows = sorted(
        (s["entry_key"], s["user_id"], s["cycle"], s["quantity"]) for s in once["seat_ledger"]
    )
    assert ledger_rows == [("ledger:0", "u-erin", "monthly", 1), ("ledger:1", "u-carol", "annual", -1)]
    members = {m["user_id"]: (m["role"], m["role_granted_at"], m["seat_type"]) for m in once["members"]}
    assert members["u-erin"] == ("user", AT - 30 * DAY, "standard")
    assert members["u-dave"] == ("admin", AT, None)
    assert members["u-carol"][2] is None
    [row] = once["subscriptions"]
    assert row["version"] == 5


async def test_members_are_added_and_a_role_change_restarts_the_grant_time_only_when_the_role_differs(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    added = decision(ws, 1, new_members=[erin()])
    await acts.record_decision(added)
    await acts.record_decision(added)
    assert await scalars(migrated_engine, ROLE, ws) == ["user 2026-01-02"]

    promoted_at = datetime(2026, 2, 1, tzinfo=UTC)
    promote = RoleChange(workspace_id=ws, user_id="u-erin", role="admin", at=promoted_at)
    await acts.record_decision(decision(ws, 2, role_changes=[promote]))
    assert await scalars(migrated_engine, ROLE, ws) == ["admin 2026-02-01"]
    # The same role again, a day later (a later decision): the grant time does not move.
    again = promote.model_copy(update={"at": promoted_at + DAY})
    await acts.record_decision(decision(ws, 3, role_changes=[again]))
    assert await scalars(migrated_engine, ROLE, ws) == ["admin 2026-02-01"]

    # Adding the member again with the same role keeps the grant time; a new role takes the given one.
    await acts.record_decision(decision(ws, 4, new_members=[erin(role="admin")]))
    assert await scalars(migrated_engine, ROLE, ws) == ["admin 2026-02-01"]
    await acts.record_decision(decision(ws, 5, new_members=[erin(role="user", at=promoted_at + 9 * DAY)]))
    assert await scalars(migrated_engine, ROLE, ws) == ["user 2026-02-10"]

    # A role change for a member the database does not have creates no row.
    unknown = RoleChange(workspace_id=ws, user_id="u-zed", role="admin", at=promoted_at)
    await acts.record_decision(decision(ws, 6, role_changes=[unknown]))
    users = [m["user_id"] for m in (await dump(migrated_engine, ws))["members"]]
    assert users == ["u-alice", "u-bob", "u-carol", "u-dave", "u-erin"]


async def test_seat_columns_are_set_and_cleared(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str
) -> None:
    assert await scalars(migrated_engine, SEATS, ws) == [
        "u-alice standard/monthly",
        "u-bob standard/monthly",
        "u-carol standard/annual",
        "u-dave -",
    ]
    await acts.record_decision(decision(ws, 1, seats={"u-dave": ANNUAL, "u-alice": None, "u-carol": MONTHLY}))
    assert await scalars(migrated_engine, SEATS, ws) == [
        "u-alice -",
        "u-bob standard/monthly",  # not listed: untouched
        "u-carol standard/monthly",
        "u-dave standard/annual",
    ]
    await acts.record_decision(decision(ws, 2, seats={"u-dave": None}))
    assert await scalars(migrated_engine, SEATS, ws) == [
        "u-alice -",
        "u-bob standard/monthly",
        "u-carol standard/monthly",
        "u-dave -",
    ]


def _admin(user: str, granted: datetime, email: str | None, role: str = "admin") -> Member:
    return Member(user_id=user, role=role, role_granted_at=granted, email=email)


# An earlier admin without an email, a later admin whose id sorts first, a non-admin with an email.
_CROWD = [
    _admin("u-zoe", datetime(2024, 1, 1, tzinfo=UTC), None),
    _admin("u-aaron", datetime(2025, 6, 1, tzinfo=UTC), "aaron@example.com"),
    _admin("u-yan", datetime(2023, 1, 1, tzinfo=UTC), "yan@example.com", role="user"),
]


@pytest.mark.parametrize(
    ("contact", "without_emails", "expected"),
    [
        pytest.param("billing@example.com", False, "billing@example.com", id="billing-contact"),
        pytest.param(None, False, "alice@example.com", id="earliest-granted-admin-with-an-email"),
        pytest.param(None, True, None, id="nobody"),
    ],
)
async def test_the_outbox_recipient_is_the_billing_contact_else_the_earliest_granted_admin(
    acts: WorkspaceActivities,
    migrated_engine: AsyncEngine,
    contact: str | None,
    without_emails: bool,
    expected: str | None,
) -> None:
    ws = new_workspace_id()
    setup = setup_for(ws)
    members = [*setup.members, *_CROWD]
    if without_emails:
        members = [m if m.role != "admin" else m.model_copy(update={"email": None}) for m in members]
    await store_workspace(
        acts._sessions, setup.model_copy(update={"billing_contact_email": contact, "members": members})
    )
    await acts.record_decision(decision(ws, 1, emails=[email(ws, "trial_ending")]))
    assert await scalars(
        migrated_engine, "SELECT to_address FROM email_outbox WHERE workspace_id = :ws", ws
    ) == [expected]


@pytest.mark.parametrize("kind", ["deleted", "unknown"])
async def test_a_record_for_a_workspace_without_rows_writes_the_timeline_projection_and_audit_only(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, kind: str
) -> None:
    """After "delete everything" (or before registration) there is no roster to change; the
    record tables explain charges and are always written."""
    ws = new_workspace_id()
    if kind == "deleted":
        await store_workspace(acts._sessions, setup_for(ws))
        await acts.delete_workspace_data(WorkspaceDeletion(workspace_id=ws, at=AT - DAY))
    before = await dump(migrated_engine, ws)
    record = everything(ws, version=9)
    await acts.record_decision(record)
    once = await dump(migrated_engine, ws)
    await acts.record_decision(record)
    assert await dump(migrated_engine, ws) == once

    for table in ("workspaces", "members", "connections", "data_sources", "agents", "seat_ledger"):
        assert once[table] == before[table], table
    assert once["members"] == once["seat_ledger"] == []
    new_events = [e["event"] for e in once["subscription_events"][len(before["subscription_events"]) :]]
    assert new_events == ["plan_changed", "seat_assigned"]
    assert [(s["version"], s["status"]) for s in once["subscriptions"]] == [(9, "active")]
    assert [a["request_id"] for a in once["audit_log"]] == ["req-1"]
    # The tombstone keeps the billing contact; an unknown workspace has nobody to write to.
    resolved = "billing@example.com" if kind == "deleted" else None
    assert sorted((e["template"], e["to_address"]) for e in once["email_outbox"]) == [
        ("cancellation_confirmation", resolved),
        ("receipt", "finance@example.com"),
    ]


async def test_a_failure_inside_the_record_writes_none_of_it(
    acts: WorkspaceActivities, migrated_engine: AsyncEngine, ws: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after everything but the audit row: the record is never half written."""
    before = await dump(migrated_engine, ws)

    async def killed(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionResetError("worker killed")

    monkeypatch.setattr(records_repo, "insert_audit", killed)
    with pytest.raises(ConnectionResetError):
        await acts.record_decision(everything(ws))
    assert await dump(migrated_engine, ws) == before
    monkeypatch.undo()

    await acts.record_decision(everything(ws))
    after = await dump(migrated_engine, ws)
    parts = ("subscription_events", "email_outbox", "seat_ledger", "subscriptions", "audit_log")
    assert {table: len(after[table]) for table in parts} == dict.fromkeys(parts[:3], 2) | {
        "subscriptions": 1,
        "audit_log": 1,
    }

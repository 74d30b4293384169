"""A worker killed between activities: the end state is the same, with no duplicates.

Temporal re-runs the activity that was in flight when the worker died. The worst case for
each activity is that its transaction committed but its completion was lost, so it runs
again. Running every activity of a workspace's life twice (`record_decision` for each
decision, then the activities its effects need, in the workflow's order) must leave
exactly the rows that running each once leaves: compared after every step, on a second
workspace (ids and insert times aside).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.workspace import WorkspaceActivities
from billing.retention import plan_reactivation
from billing.workspace import Member, MemberSeat
from contracts.records import (
    AuditEntry,
    DecisionRecord,
    OutboxEmail,
    RoleChange,
    SeatLedgerEntry,
    TimelineEvent,
)
from contracts.workspace import DueDeletions, WorkspaceDeletion
from db.engine import session_factory
from services.workspaces import store_workspace
from tests.integration.workspace_support import (
    REVERT_AT,
    decision,
    dump,
    new_workspace_id,
    projection,
    revert_plan,
    setup_for,
)

# Columns that differ between two workspaces by construction, not by behaviour.
_INCIDENTAL = {"workspace_id", "id", "recorded_at", "created_at", "installed_at"}
DAY = timedelta(days=1)
JOINED_AT = REVERT_AT - 20 * DAY
DEADLINE = REVERT_AT + 7 * DAY
MONTHLY = MemberSeat(seat_type="standard", cycle="monthly")
Rows = dict[str, list[dict[str, Any]]]


def _normalised(rows: Rows, ws: str) -> Rows:
    def clean(value: Any) -> Any:
        return value.replace(ws, "WS") if isinstance(value, str) else value

    return {
        table: [{k: clean(v) for k, v in row.items() if k not in _INCIDENTAL} for row in table_rows]
        for table, table_rows in rows.items()
    }


def _ledger(ws: str, index: int, user: str, quantity: int, reason: str) -> SeatLedgerEntry:
    return SeatLedgerEntry(
        workspace_id=ws,
        entry_key=f"ledger:{index}",
        at=JOINED_AT if quantity > 0 else REVERT_AT,
        user_id=user,
        seat_type="standard",
        cycle="annual" if user == "u-carol" else "monthly",
        quantity=1 if quantity > 0 else -1,
        reason=reason,
    )


def _event(at: Any, event: str) -> TimelineEvent:
    return TimelineEvent(at=at, event=event, dedupe_key=f"{at.isoformat()}|{event}")


def _record(ws: str, version: int, status: str, at: Any, **parts: Any) -> DecisionRecord:
    return decision(ws, version, projection=projection(ws, version, status=status, at=at), **parts)


def _records(ws: str) -> dict[str, DecisionRecord]:
    """The records of the decisions of a workspace's life, as the workflow would write them."""
    erin = Member(user_id="u-erin", role="user", role_granted_at=JOINED_AT, email="erin@example.com")
    released = ["u-alice", "u-bob", "u-carol", "u-erin"]
    return {
        "joined": _record(
            ws,
            1,
            "active",
            JOINED_AT,
            new_members=[erin],
            role_changes=[RoleChange(workspace_id=ws, user_id="u-dave", role="admin", at=JOINED_AT)],
            seats={"u-erin": MONTHLY},
            seat_entries=[_ledger(ws, 0, "u-erin", 1, "assigned")],
            events=[_event(JOINED_AT, "member_added")],
            audit=AuditEntry(
                workspace_id=ws, request_id="add-1", at=JOINED_AT, actor="u-alice", action="add"
            ),
        ),
        "reverted": _record(
            ws,
            2,
            "free",
            REVERT_AT,
            seats=dict.fromkeys(released),
            seat_entries=[_ledger(ws, i + 1, u, -1, "revert") for i, u in enumerate(released)],
            events=[_event(REVERT_AT, "reverted_to_free")],
            emails=[
                OutboxEmail(
                    workspace_id=ws,
                    idempotency_key=f"{ws}|reverted_to_free",
                    template="reverted_to_free",
                    to=None,  # resolved in the transaction: the billing contact
                    at=REVERT_AT,
                )
            ],
        ),
        "deletion_due": _record(
            ws, 3, "free", DEADLINE, events=[_event(DEADLINE, "data_source_deletion_due")]
        ),
        "reactivated": _record(
            ws,
            4,
            "active",
            DEADLINE + DAY,
            seats={"u-alice": MONTHLY},
            seat_entries=[_ledger(ws, 5, "u-alice", 1, "assigned")],
            events=[_event(DEADLINE + DAY, "reactivated")],
        ),
        "deleted": _record(
            ws,
            5,
            "deleted",
            DEADLINE + 2 * DAY,
            events=[_event(DEADLINE + 2 * DAY, "workspace_deletion_requested")],
            audit=AuditEntry(
                workspace_id=ws, request_id="del-1", at=DEADLINE + 2 * DAY, actor="u-alice", action="delete"
            ),
        ),
        "after_deletion": _record(
            ws, 6, "deleted", DEADLINE + 3 * DAY, events=[_event(DEADLINE + 3 * DAY, "period_closed")]
        ),
    }


async def _life(
    acts: WorkspaceActivities, engine: AsyncEngine, ws: str, times: int
) -> list[tuple[str, Rows]]:
    """Every activity of a workspace's life, each run ``times`` times; the rows after each."""
    stages: list[tuple[str, Rows]] = []

    async def run(name: str, step: Callable[[], Awaitable[Any]]) -> None:
        for _ in range(times):
            await step()
        stages.append((name, _normalised(await dump(engine, ws), ws)))

    records = _records(ws)

    async def record(name: str) -> None:
        await run(f"record_decision {name}", lambda: acts.record_decision(records[name]))

    await run("register_workspace", lambda: store_workspace(acts._sessions, setup_for(ws)))
    await record("joined")
    await record("reverted")
    revert = revert_plan(await acts.load_snapshot(ws))
    await run("apply_revert", lambda: acts.apply_revert(revert))
    await record("deletion_due")
    await run(
        "delete_due_data_sources",
        lambda: acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=DEADLINE)),
    )
    await record("reactivated")
    reactivation = plan_reactivation(await acts.load_snapshot(ws), revert, DEADLINE + DAY)
    await run("apply_reactivation", lambda: acts.apply_reactivation(reactivation))
    await record("deleted")
    deletion = WorkspaceDeletion(workspace_id=ws, at=DEADLINE + 2 * DAY)
    await run("delete_workspace_data", lambda: acts.delete_workspace_data(deletion))
    await record("after_deletion")
    return stages


def _counts(rows: Rows) -> dict[str, int]:
    return {table: len(table_rows) for table, table_rows in rows.items()}


async def test_every_activity_run_twice_leaves_the_rows_of_one_run(migrated_engine: AsyncEngine) -> None:
    acts = WorkspaceActivities(session_factory(migrated_engine))
    once = await _life(acts, migrated_engine, new_workspace_id(), times=1)
    twice = await _life(acts, migrated_engine, new_workspace_id(), times=2)
    assert [name for name, _ in twice] == [name for name, _ in once]
    for (name, expected), (_, actual) in zip(once, twice, strict=True):
        assert actual == expected, f"after {name}"

    stages = dict(once)
    assert _counts(stages["delete_due_data_sources"]) == {
        "workspaces": 1,
        "members": 5,
        "connections": 2,
        "synced_documents": 1,  # connection documents and the deleted big source's are gone
        "data_sources": 2,
        "agents": 2,
        "slack_bots": 0,
        "seat_ledger": 5,
        "subscriptions": 1,
        "subscription_events": 15,
        "audit_log": 1,
        "email_outbox": 2,
        "billing_profiles": 1,  # the billing contact given at registration
    }
    [resolved] = stages["record_decision reverted"]["email_outbox"]
    assert resolved["to_address"] == "billing@example.com"
    end = stages["record_decision after_deletion"]
    assert {table: n for table, n in _counts(end).items() if n} == {
        "workspaces": 1,
        "subscriptions": 1,
        "subscription_events": 26,  # the timeline explains the charges: kept
        "audit_log": 2,
        "billing_profiles": 1,  # billing records are kept
    }
    assert [s["version"] for s in end["subscriptions"]] == [6]

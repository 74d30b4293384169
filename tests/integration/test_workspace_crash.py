"""A worker killed between the activities of a revert: the end state is the same, no duplicates.

Temporal re-runs the activity that was in flight when the worker died. The worst case for
each activity is that its transaction committed but its completion was lost, so it runs
again. Running every activity of the sequence twice must leave exactly the rows that
running each once leaves (compared on a second workspace, ids and insert times aside).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.workspace import WorkspaceActivities
from billing.records import (
    AuditEntry,
    DueDeletions,
    EventBatch,
    OutboxEmail,
    SeatLedgerEntry,
    SubscriptionProjection,
    TimelineEvent,
)
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from devstack.postgres import EmbeddedPostgres
from tests.integration.workspace_support import REVERT_AT, dump, new_workspace_id, revert_plan, setup_for

# Columns that differ between two workspaces by construction, not by behaviour.
_INCIDENTAL = {"workspace_id", "id", "recorded_at", "created_at", "installed_at"}


@pytest.fixture(scope="module")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=4)
    yield engine
    await engine.dispose()


async def _revert_sequence(acts: WorkspaceActivities, ws: str, times: int) -> None:
    """The activities a workflow runs for a revert to free, each run ``times`` times."""

    async def run(step: Callable[[], Awaitable[Any]]) -> None:
        for _ in range(times):
            await step()

    plan = revert_plan(await acts.load_snapshot(ws))
    await run(lambda: acts.apply_revert(plan))
    for holding in plan.previous_seats:
        seat = SeatLedgerEntry(
            workspace_id=ws,
            entry_key=f"revert:{REVERT_AT.isoformat()}:{holding.user_id}",
            at=REVERT_AT,
            user_id=holding.user_id,
            seat_type=holding.seat.seat_type,
            cycle=holding.seat.cycle,
            quantity=-1,
            reason="revert",
        )
        await run(lambda seat=seat: acts.record_seat_change(seat))  # type: ignore[misc]
    event = TimelineEvent(
        at=REVERT_AT, event="reverted_to_free", dedupe_key="reverted:1", data={"reason": "x"}
    )
    await run(lambda: acts.append_events(EventBatch(workspace_id=ws, events=[event])))
    email = OutboxEmail(
        workspace_id=ws,
        idempotency_key=f"{ws}:reverted_to_free:1",
        template="reverted_to_free",
        to="billing@example.com",
        at=REVERT_AT,
    )
    await run(lambda: acts.enqueue_email(email))
    projection = SubscriptionProjection(
        workspace_id=ws, catalog="seats", status="free", plan="free", updated_at=REVERT_AT, version=12
    )
    await run(lambda: acts.project_subscription(projection))
    audit = AuditEntry(workspace_id=ws, request_id="cancel-1", at=REVERT_AT, actor="system", action="revert")
    await run(lambda: acts.append_audit(audit))
    due = REVERT_AT + timedelta(days=7)
    await run(lambda: acts.delete_due_data_sources(DueDeletions(workspace_id=ws, at=due)))


def _normalised(rows: dict[str, list[dict[str, Any]]], ws: str) -> dict[str, list[dict[str, Any]]]:
    def clean(value: Any) -> Any:
        return value.replace(ws, "WS") if isinstance(value, str) else value

    return {
        table: [{k: clean(v) for k, v in row.items() if k not in _INCIDENTAL} for row in table_rows]
        for table, table_rows in rows.items()
    }


async def test_every_activity_of_a_revert_run_twice_leaves_the_rows_of_one_run(engine: AsyncEngine) -> None:
    acts = WorkspaceActivities(session_factory(engine))
    once, twice = new_workspace_id(), new_workspace_id()
    for ws in (once, twice):
        await acts.register_workspace(setup_for(ws))
    await _revert_sequence(acts, once, times=1)
    await _revert_sequence(acts, twice, times=2)
    expected = _normalised(await dump(engine, once), once)
    assert _normalised(await dump(engine, twice), twice) == expected
    assert {table: len(rows) for table, rows in expected.items()} == {
        "workspaces": 1,
        "members": 4,
        "connections": 2,
        "synced_documents": 1,  # connection documents and the deleted big source's are gone
        "data_sources": 2,
        "agents": 2,
        "slack_bots": 0,
        "seat_ledger": 3,
        "subscriptions": 1,
        "subscription_events": 12,
        "audit_log": 1,
        "email_outbox": 2,
    }

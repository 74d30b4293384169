"""A command's record is written only once its Update is accepted in history.

A local activity in an Update handler writes before the workflow task that accepts the
Update completes; if that task is lost (the server restarting, the worker killed with nobody
sending the Update again), the database and the outbox keep a command the workflow never
had (`bench.chaos` found one seat in SQL and none in the workflow, in two runs of two). Since
patch ``record-after-acceptance`` the record is the regular activity ``record_command``,
scheduled by the task that accepts the Update (`workflows.effects.EffectRunner.record`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from billing import AssignSeat, UnassignSeat
from tests.workflows.driver import Driver
from tests.workflows.test_revert import _setup

ACCEPTED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
COMPLETED_TASK = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
MARKER = EventType.EVENT_TYPE_MARKER_RECORDED


def _task_of(events: list[HistoryEvent], index: int) -> list[HistoryEvent]:
    """The events the workflow task completed just before ``events[index]`` produced."""
    start = max(i for i in range(index) if events[i].event_type == COMPLETED_TASK)
    end = next(
        (i for i in range(index + 1, len(events)) if events[i].event_type == COMPLETED_TASK), len(events)
    )
    return events[start:end]


async def test_a_commands_record_is_scheduled_by_the_task_that_accepts_it(driver: Driver) -> None:
    ws = f"rec-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", datetime(2026, 9, 3, 9, tzinfo=UTC))
    await driver.update(AssignSeat(request_id="seat-alice", actor="alice", user="alice", seat_type="pro"))
    await driver.update(AssignSeat(request_id="seat-bob", actor="alice", user="bob", seat_type="pro"))
    await driver.update(UnassignSeat(request_id="unseat-bob", actor="alice", user="bob"))
    assert driver.handle is not None
    events = [e async for e in driver.handle.fetch_history_events()]

    accepted = {
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id: i
        for i, e in enumerate(events)
        if e.event_type == ACCEPTED
    }
    assert set(accepted) >= {"seat-bob", "unseat-bob"}  # the checkout continued as new
    for update_id in ("seat-bob", "unseat-bob"):
        task = _task_of(events, accepted[update_id])
        kinds = [e.event_type for e in task]
        # No record was written inside the accepting task (no local-activity marker; the
        # patch's own marker is one) ...
        markers = [e.marker_recorded_event_attributes.marker_name for e in task if e.event_type == MARKER]
        assert "core_local_activity" not in markers, (update_id, markers)
        # ... it is scheduled there, after the acceptance, and then it ran.
        scheduled = [e for e in task if e.event_type == SCHEDULED]
        assert [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled] == [
            "record_command"
        ]
        assert kinds.index(ACCEPTED) < kinds.index(SCHEDULED)
    rows = await driver.rows("SELECT user_id FROM members WHERE workspace_id = :ws AND seat_type IS NOT NULL")
    assert [r["user_id"] for r in rows] == ["alice"]  # the records did run

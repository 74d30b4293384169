"""What a workflow's history tells the simulation that a description does not.

Two things, both needed to know that an instant's work is done and that the next step can
be sent safely:

- **Open timers and when they fire.** The time-skipping server strands a run whose
  workflow task cancels a timer that fired while the task was with the worker: it refuses
  the completion ("invalid history builder state for action", temporalio/sdk-java#2606 and
  #3088), never times the task out or sends it again, and that task's hold on the clock is
  never released, so every later skip of the whole server waits in wall-clock time (the
  intermittent stall of full test runs). A step's Update makes the subscription cancel its
  deadline timer; when that timer is due at the step's own instant (a renewal, a draft
  posting at the very second of the step) it fires a few milliseconds after the skip has
  landed, in real time, and on a loaded machine that can be while the step's task is with
  the worker. So the runner lets every timer due that soon fire first (`Engine`).
- **Signals on their way.** An invoice workflow reports to its subscription with an external
  signal: while it travels neither workflow has a task or an activity pending, and a
  description of both looks settled.
"""

from __future__ import annotations

from datetime import datetime

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client
from temporalio.service import RPCError


async def read_history(client: Client, wf_id: str) -> list[HistoryEvent]:
    """The events of ``wf_id``'s current run (none when it does not exist)."""
    events: list[HistoryEvent] = []
    token = b""
    while True:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=wf_id),
            next_page_token=token,
        )
        try:
            page = await client.workflow_service.get_workflow_execution_history(request)
        except RPCError:
            return events
        events += page.history.events
        token = page.next_page_token
        if not token:
            return events


def open_timers(events: list[HistoryEvent]) -> list[datetime]:
    """When each timer started and neither fired nor cancelled is due (naive UTC, server time)."""
    due: dict[str, datetime] = {}
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = event.timer_started_event_attributes
            due[attrs.timer_id] = event.event_time.ToDatetime() + attrs.start_to_fire_timeout.ToTimedelta()
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            due.pop(event.timer_fired_event_attributes.timer_id, None)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            due.pop(event.timer_canceled_event_attributes.timer_id, None)
    return list(due.values())


def signals_in_flight(events: list[HistoryEvent]) -> int:
    """External signals initiated and not yet delivered or failed."""
    sent = EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED
    done = {
        EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
        EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    }
    return sum(e.event_type == sent for e in events) - sum(e.event_type in done for e in events)

"""One dispatcher workflow per webhook endpoint: reads the event log, delivers in order.

Why this shape: an endpoint is the unit that fails, is rate-limited and is retried, so one
long-running workflow per endpoint (id ``webhook-endpoint-{id}``) owns all of it and a dead
endpoint never holds back another. Its state is small and durable: the log cursor (the
global ``seq`` of the last event read) and, per workspace, a lane of event references still
to send. A short poll timer wakes it to read new events after the cursor (the log is
appended in decision transactions, which cannot signal; a poll is what makes "no event
without its change" also "no change without its delivery"), and a replay signal adds a range.

Promises, and how they are kept:
- in order per workspace: a lane sends only its head and moves on after a 2xx, so event n+1
  of a workspace never goes before n succeeded; lanes run side by side (up to
  ``max_in_flight``), so a workspace whose events fail does not block another;
- at least once: a lane's head leaves the state only when an attempt returned 2xx; a worker
  killed mid-attempt leaves the activity to be retried (same ``webhook-id``);
- rate-limited per endpoint: attempts started within any second are capped;
- retried with exponential backoff on a fixed schedule from the first attempt
  (`contracts.webhooks.next_attempt_at`), for the horizon (3 days by default); past it the
  endpoint is marked ``failing`` and nothing more is sent until a replay resumes it.

The workflow continues as new before its history grows large (``history_limit`` events),
once no attempt is in flight, carrying the whole state; timers do not survive that, so due
instants are absolute.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Final

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as refs
    from contracts.webhooks import (
        DispatcherState,
        DispatcherStatus,
        EndpointFailing,
        EventRef,
        Lane,
        PendingQuery,
        ReplayRange,
        WebhookAttempt,
        next_attempt_at,
    )
    from workflows import calls

FETCH_LIMIT: Final = 100
# Event references held at once; past it the log is read again only as lanes drain.
MAX_BUFFERED: Final = 1_000
_WINDOW: Final = timedelta(seconds=1)


def dispatcher_id(endpoint_id: str) -> str:
    """The workflow id of an endpoint's dispatcher."""
    return f"webhook-endpoint-{endpoint_id}"


@workflow.defn(name="WebhookDispatcher")
class WebhookDispatcherWorkflow:
    """Deliver the event log to one endpoint (see the module docstring)."""

    @workflow.init
    def __init__(self, state: DispatcherState) -> None:
        self._s = state
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._starts: list[datetime] = []
        self._changed = False
        self._gone = False

    @workflow.signal
    def replay(self, wanted: ReplayRange) -> None:
        """Send a range of the log again; resumes a failing endpoint (retries start afresh)."""
        self._s.replays.append(wanted)
        if self._s.failing:
            self._s.failing = False
            for lane in self._s.lanes.values():
                lane.attempt, lane.first_attempt_at, lane.due_at = 0, None, None
        self._changed = True

    @workflow.query
    def status(self) -> DispatcherStatus:
        """The cursor, the events still to send, and whether the endpoint is failing."""
        pending = sum(len(lane.events) for lane in self._s.lanes.values())
        return DispatcherStatus(cursor=self._s.cursor, pending=pending, failing=self._s.failing)

    @workflow.run
    async def run(self, state: DispatcherState) -> None:
        """Poll, deliver, retry, until the endpoint is deleted."""
        poll = timedelta(seconds=self._s.policy.poll_interval_s)
        next_poll = workflow.now()
        while not self._gone:
            if self._s.failing:
                await workflow.wait_condition(lambda: not self._s.failing)
                next_poll = workflow.now()
                continue
            now = workflow.now()
            if now >= next_poll:
                next_poll = now + poll
                await self._read()
                if self._gone:
                    break
            self._start_due(workflow.now())
            if self._history_full():
                await workflow.wait_condition(lambda: not self._in_flight)
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._s)
            self._changed = False
            wait = max(self._next_wake(next_poll) - workflow.now(), timedelta(milliseconds=1))
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._changed, timeout=wait)
        await workflow.wait_condition(lambda: not self._in_flight)

    def _history_full(self) -> bool:
        info = workflow.info()
        limit = self._s.policy.history_limit
        return info.is_continue_as_new_suggested() or info.get_current_history_length() > limit

    async def _read(self) -> None:
        if sum(len(lane.events) for lane in self._s.lanes.values()) >= MAX_BUFFERED:
            return
        if self._s.replays:
            wanted = self._s.replays[0]
            query = PendingQuery(
                endpoint_id=self._s.endpoint_id,
                after_seq=wanted.after_seq,
                until_seq=wanted.until_seq,
                workspace_id=wanted.workspace_id,
                limit=FETCH_LIMIT,
            )
            found = await calls.run(refs.WEBHOOK_PENDING, query)
            self._gone = found.gone
            self._enqueue(found.events)
            if len(found.events) < FETCH_LIMIT:
                self._s.replays.pop(0)
            else:
                self._s.replays[0] = wanted.model_copy(update={"after_seq": found.events[-1].seq})
        query = PendingQuery(endpoint_id=self._s.endpoint_id, after_seq=self._s.cursor, limit=FETCH_LIMIT)
        found = await calls.run(refs.WEBHOOK_PENDING, query)
        self._gone = self._gone or found.gone
        self._enqueue(found.events)
        if found.events:
            self._s.cursor = found.events[-1].seq

    def _enqueue(self, events: list[EventRef]) -> None:
        for event in events:
            lane = self._s.lanes.setdefault(event.workspace_id, Lane(workspace_id=event.workspace_id))
            if event not in lane.events:  # a replay of what is still queued sends it once
                lane.events.append(event)

    def _cap(self) -> int:
        return max(1, int(self._s.policy.rate_per_second))

    def _ready(self, now: datetime) -> list[Lane]:
        lanes = [
            lane
            for lane in self._s.lanes.values()
            if lane.events
            and lane.workspace_id not in self._in_flight
            and (lane.due_at is None or lane.due_at <= now)
        ]
        return sorted(lanes, key=lambda lane: lane.events[0].seq)  # the oldest head first: fair

    def _start_due(self, now: datetime) -> None:
        self._starts = [t for t in self._starts if t > now - _WINDOW]
        for lane in self._ready(now):
            if len(self._in_flight) >= self._s.policy.max_in_flight or len(self._starts) >= self._cap():
                break
            self._starts.append(now)
            self._in_flight.add(lane.workspace_id)
            task = asyncio.create_task(self._attempt(lane))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _next_wake(self, next_poll: datetime) -> datetime:
        now = workflow.now()
        wake = [next_poll]
        waiting = [
            lane
            for lane in self._s.lanes.values()
            if lane.events and lane.workspace_id not in self._in_flight
        ]
        wake += [lane.due_at for lane in waiting if lane.due_at is not None and lane.due_at > now]
        if self._ready(now) and len(self._starts) >= self._cap():
            wake.append(self._starts[0] + _WINDOW)
        return min(wake)

    async def _attempt(self, lane: Lane) -> None:
        try:
            await self._deliver_head(lane)
        finally:
            self._in_flight.discard(lane.workspace_id)
            self._changed = True

    async def _deliver_head(self, lane: Lane) -> None:
        head = lane.events[0]
        lane.attempt += 1
        first = lane.first_attempt_at = lane.first_attempt_at or workflow.now()
        attempt = WebhookAttempt(
            endpoint_id=self._s.endpoint_id,
            event_id=head.id,
            workspace_id=head.workspace_id,
            attempt=lane.attempt,
            first_attempt_at=first,
            policy=self._s.policy,
        )
        outcome = await calls.run(refs.DELIVER_WEBHOOK, attempt)
        if outcome.gone:
            self._gone = True
            return
        if outcome.delivered or outcome.missing:
            lane.events.pop(0)
            lane.attempt, lane.first_attempt_at, lane.due_at = 0, None, None
            if not lane.events and self._s.lanes.get(lane.workspace_id) is lane:
                del self._s.lanes[lane.workspace_id]
            return
        lane.due_at = next_attempt_at(first, lane.attempt, self._s.policy)
        if lane.due_at is None:  # the horizon is over: the endpoint is failing
            lane.attempt, lane.first_attempt_at = 0, None
            self._s.failing = True
            failing = EndpointFailing(endpoint_id=self._s.endpoint_id, event_id=head.id, at=workflow.now())
            await calls.run(refs.MARK_ENDPOINT_FAILING, failing)

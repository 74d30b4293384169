"""The simulation's reading of histories: open timers and signals still on their way."""

from __future__ import annotations

from datetime import datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    HistoryEvent,
    TimerCanceledEventAttributes,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
)

from simulate.history import open_timers, signals_in_flight

AT = datetime(2026, 10, 3, 0, 0, 0)


def _started(timer_id: str, at: datetime, after: timedelta) -> HistoryEvent:
    stamp, duration = Timestamp(), Duration()
    stamp.FromDatetime(at)
    duration.FromTimedelta(after)
    return HistoryEvent(
        event_type=EventType.EVENT_TYPE_TIMER_STARTED,
        event_time=stamp,
        timer_started_event_attributes=TimerStartedEventAttributes(
            timer_id=timer_id, start_to_fire_timeout=duration
        ),
    )


def test_a_timer_is_open_until_it_fires_or_is_cancelled_and_is_due_at_start_plus_timeout() -> None:
    events = [
        _started("1", AT, timedelta(hours=1)),
        _started("2", AT, timedelta(days=30)),
        _started("3", AT, timedelta(seconds=2)),
        HistoryEvent(
            event_type=EventType.EVENT_TYPE_TIMER_FIRED,
            timer_fired_event_attributes=TimerFiredEventAttributes(timer_id="1"),
        ),
        HistoryEvent(
            event_type=EventType.EVENT_TYPE_TIMER_CANCELED,
            timer_canceled_event_attributes=TimerCanceledEventAttributes(timer_id="3"),
        ),
    ]
    assert open_timers(events) == [AT + timedelta(days=30)]


def test_a_signal_is_in_flight_from_its_initiation_until_it_is_delivered_or_fails() -> None:
    initiated = HistoryEvent(event_type=EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED)
    delivered = HistoryEvent(event_type=EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED)
    failed = HistoryEvent(event_type=EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED)
    assert signals_in_flight([initiated]) == 1
    assert signals_in_flight([initiated, delivered, initiated]) == 1
    assert signals_in_flight([initiated, failed, initiated, delivered]) == 0

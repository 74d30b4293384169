"""The outbound event log, read: pages after a stored cursor, and one event by id.

A consumer stores ``next_cursor`` (the id of the last event it read) and asks for what
follows: the global order is the commit order (`db.event_log`), so a page never skips an
event that committed after the cursor was handed out. Reading changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from pydantic import BaseModel

from billing.errors import DomainError
from contracts.errors import INVALID_ARGUMENT
from contracts.events import EVENT_TYPES, EventOut
from db import event_log
from services.base import UnitOfWork

EVENT_NOT_FOUND: Final = "event_not_found"
MAX_LIMIT: Final = 1000
_EVENT_ID = re.compile(r"evt_[0-9a-f]{24}")


class EventQueryRefused(DomainError):
    """A query the log cannot answer; ``field`` names the parameter at fault (a 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(INVALID_ARGUMENT, message, {"field": field})
        self.field = field


class EventPage(BaseModel):
    """Events oldest first; ``next_cursor`` is what to pass as ``after`` next time."""

    data: list[EventOut]
    has_more: bool
    next_cursor: str | None


def event_types(values: Sequence[str]) -> list[str]:
    """The requested types (repeated or comma-separated), each a known one.

    Raises:
        EventQueryRefused: on ``type`` for an unknown type.
    """
    types = [t.strip() for value in values for t in value.split(",") if t.strip()]
    unknown = sorted({t for t in types if t not in EVENT_TYPES})
    if unknown:
        raise EventQueryRefused("type", f"unknown event types: {', '.join(unknown)[:200]}")
    return list(dict.fromkeys(types))


class EventService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def page(
        self,
        after: str | None = None,
        limit: int = 100,
        workspace_id: str | None = None,
        types: Sequence[str] = (),
    ) -> EventPage:
        """Up to ``limit`` events after the event ``after`` (None: from the first).

        Raises:
            EventQueryRefused: a malformed or unknown cursor, a bad limit, an unknown type.
        """
        if not 1 <= limit <= MAX_LIMIT:
            raise EventQueryRefused("limit", f"limit must be between 1 and {MAX_LIMIT}")
        wanted = event_types(types)
        async with self._uow.read() as session:
            seq = 0
            if after is not None:
                cursor = await event_log.get(session, after) if _EVENT_ID.fullmatch(after) else None
                if cursor is None:
                    raise EventQueryRefused("after", "not an event id this log handed out")
                seq = cursor.seq
            rows = await event_log.after(session, seq, limit + 1, workspace_id, wanted)
        events = [event_log.out(r) for r in rows[:limit]]
        last = events[-1].id if events else after
        return EventPage(data=events, has_more=len(rows) > limit, next_cursor=last)

    async def get(self, event_id: str) -> EventOut:
        """The event ``event_id``.

        Raises:
            DomainError: ``event_not_found``.
        """
        async with self._uow.read() as session:
            row = await event_log.get(session, event_id) if _EVENT_ID.fullmatch(event_id) else None
            if row is None:
                raise DomainError(EVENT_NOT_FOUND, f"no event {event_id[:80]!r}")
            return event_log.out(row)

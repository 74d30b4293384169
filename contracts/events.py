"""The outbound event log's messages: what a decision appends, and what consumers read.

An event is appended in the transaction of the change it reports (the transactional
outbox): no event without its change, no change without its event. `db.event_log` writes
and reads them; the pull API and the webhook deliveries serve them as `EventOut`.
"""

from __future__ import annotations

import hashlib
from typing import Final

from pydantic import BaseModel, ConfigDict, JsonValue

from billing.usage import UtcDatetime

# The version of the payload shapes; a consumer can branch on it when shapes change.
EVENTS_API_VERSION: Final = "2026-12-01"

# Every type a consumer may receive (webhook endpoints subscribe to a subset of these).
EVENT_TYPES: Final = frozenset(
    {
        "subscription.created",
        "subscription.updated",
        "trial.will_end",
        "seat.assigned",
        "seat.unassigned",
        "seat.changed",
        "member.added",
        "member.removed",
        "member.suspended",
        "member.restored",
        "connection.deleted",
        "data_source.deletion_scheduled",
        "data_source.deletion_canceled",
        "data_source.deleted",
        "agent.deactivated",
        "agent.reactivated",
        "slack_bot.removed",
        "invoice.posted",
        "invoice.paid",
        "invoice.payment_failed",
        "invoice.overdue",
        "invoice.voided",
        "entitlements.updated",
    }
)


def event_id(workspace_id: str, source_key: str) -> str:
    """The event's public id, derived from what it reports: a retried write gives the same id."""
    digest = hashlib.sha256(f"{workspace_id}\x00{source_key}".encode()).hexdigest()
    return f"evt_{digest[:24]}"


class NewEvent(BaseModel):
    """One event to append; ``source_key`` (unique per workspace) makes it once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace_id: str
    type: str
    occurred_at: UtcDatetime
    source_key: str
    payload: dict[str, JsonValue] = {}


class EventOut(BaseModel):
    """An event as the API and webhook deliveries show it.

    Attributes:
        sequence: the event's place in its workspace's stream (1, 2, ... without gaps).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    type: str
    workspace_id: str
    sequence: int
    occurred_at: UtcDatetime
    api_version: str
    payload: dict[str, JsonValue]

"""Webhook deliveries' messages: what the dispatcher workflow carries and its activities exchange.

Also the two pure rules every side shares: which endpoint input is acceptable (the API, the
CLI and the service check the same way) and the retry schedule (the workflow waits on it, the
delivery activity logs the next attempt from it, so both say the same instant).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from billing.usage import UtcDatetime
from contracts.events import EVENT_TYPES

ENDPOINT_PREFIX: Final = "we_"
SECRET_PREFIX: Final = "whsec_"
ENDPOINT_ID_PATTERN: Final = r"^we_[0-9a-f]{24}$"
EVENT_ID_PATTERN: Final = r"^evt_[0-9a-f]{24}$"
MAX_URL_LENGTH: Final = 2000

EndpointStatus = Literal["active", "failing", "disabled"]


def check_url(url: str) -> str:
    """An endpoint URL: absolute http(s), with a host, without credentials in it.

    Raises:
        ValueError: why it is refused.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # a malformed port raises here
    except ValueError as error:
        raise ValueError(f"not a URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("must name a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry credentials (user:password@): sign-in is the signature's job")
    if any(c.isspace() for c in url) or (port is not None and port == 0):
        raise ValueError("not a valid URL")
    return url


def check_event_types(types: list[str]) -> list[str]:
    """Subscribed event types, each known, without repeats (empty: every type).

    Raises:
        ValueError: the first unknown type.
    """
    for t in types:
        if t not in EVENT_TYPES:
            raise ValueError(f"unknown event type {t!r} (see docs/events.md)")
    return sorted(set(types))


class DeliveryPolicy(BaseModel):
    """How one endpoint is delivered to (from the settings when its dispatcher started).

    Attributes:
        rate_per_second: delivery attempts started per second, at most.
        horizon_s: how long one event is retried before the endpoint is marked failing.
        initial_backoff_s: the wait after the first failed attempt; it doubles each time.
        max_backoff_s: the longest wait between two attempts.
        poll_interval_s: how often the log is read for new events.
        request_timeout_s: how long one request may take (else it failed).
        max_in_flight: requests to the endpoint at once (one per workspace).
        history_limit: history events after which a dispatcher run continues as new (well
            under the server's suggestion at 4,096, so replaying a run stays cheap).
    """

    model_config = ConfigDict(frozen=True)

    rate_per_second: float = Field(default=20.0, gt=0)
    horizon_s: float = Field(default=3 * 24 * 3600.0, gt=0)
    initial_backoff_s: float = Field(default=5.0, gt=0)
    max_backoff_s: float = Field(default=3600.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0, le=10)
    max_in_flight: int = Field(default=10, ge=1, le=100)
    history_limit: int = Field(default=2_000, ge=50, le=10_000)


def retry_delay(attempt: int, policy: DeliveryPolicy) -> float:
    """Seconds between failed attempt ``attempt`` (1, 2, ...) and the next: exponential, capped."""
    return float(min(policy.initial_backoff_s * 2 ** min(attempt - 1, 60), policy.max_backoff_s))


def next_attempt_at(first: datetime, attempt: int, policy: DeliveryPolicy) -> datetime | None:
    """When attempt ``attempt + 1`` is due, counted from the first attempt; None past the horizon.

    The schedule is fixed from the first attempt (not from when each failure was seen), so the
    workflow and the delivery log compute the same instant.
    """
    offset = sum(retry_delay(n, policy) for n in range(1, attempt + 1))
    if offset > policy.horizon_s:
        return None
    return first + timedelta(seconds=offset)


class EventRef(BaseModel):
    """An event to deliver, by reference (the payload is read when it is sent)."""

    model_config = ConfigDict(frozen=True)

    id: str
    seq: int
    workspace_id: str


class Lane(BaseModel):
    """One workspace's queue at one endpoint: only its head is being delivered.

    Attributes:
        attempt: attempts made for the head so far.
        first_attempt_at: when the head was first attempted (its retry schedule's origin).
        due_at: when the head's next attempt may start (None: now).
    """

    workspace_id: str
    events: list[EventRef] = []
    attempt: int = 0
    first_attempt_at: UtcDatetime | None = None
    due_at: UtcDatetime | None = None


class ReplayRange(BaseModel):
    """Events to send again: global ``seq`` above ``after_seq`` up to ``until_seq`` (inclusive)."""

    model_config = ConfigDict(frozen=True)

    after_seq: int = 0
    until_seq: int | None = None
    workspace_id: str | None = None


class DispatcherState(BaseModel):
    """All a dispatcher carries across continue-as-new.

    Attributes:
        cursor: the global ``seq`` of the last event read from the log.
        lanes: per workspace, what is still to deliver.
        replays: ranges asked to be sent again, oldest first (the first is being read).
        failing: retries ran out: nothing is sent until a replay resumes it.
    """

    endpoint_id: str
    policy: DeliveryPolicy
    cursor: int = 0
    lanes: dict[str, Lane] = {}
    replays: list[ReplayRange] = []
    failing: bool = False


class PendingQuery(BaseModel):
    """What the dispatcher asks the log for (the endpoint's types are applied by the activity)."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    after_seq: int
    until_seq: int | None = None
    workspace_id: str | None = None
    limit: int = 100


class PendingEvents(BaseModel):
    """The answer: ``gone`` when the endpoint was deleted (the dispatcher stops)."""

    model_config = ConfigDict(frozen=True)

    gone: bool = False
    events: list[EventRef] = []


class WebhookAttempt(BaseModel):
    """One attempt to deliver one event to one endpoint."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    event_id: str
    workspace_id: str
    attempt: int
    first_attempt_at: UtcDatetime
    policy: DeliveryPolicy


class WebhookOutcome(BaseModel):
    """What the attempt gave: delivered (a 2xx), failed (anything else), endpoint gone, or the
    event missing (the log is append-only: only a wrong reference; it is skipped)."""

    model_config = ConfigDict(frozen=True)

    delivered: bool = False
    gone: bool = False
    missing: bool = False
    status_code: int | None = None
    error: str | None = None


class EndpointFailing(BaseModel):
    """Mark an endpoint failing: an event's retries ran out at ``at``."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: str
    event_id: str
    at: UtcDatetime


class DispatcherStatus(BaseModel):
    """What a dispatcher reports when asked (a query)."""

    model_config = ConfigDict(frozen=True)

    cursor: int
    pending: int
    failing: bool

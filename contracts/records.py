"""The record of one decision (`record_decision`, a local activity), and its parts.

Every instant is the workflow's (``workflow.now()`` or a recorded plan instant), so a retried
activity writes the same rows.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue, NonNegativeInt

from billing.usage import UtcDatetime
from billing.workspace import Member, MemberSeat
from contracts.entitlements import EntitlementsSnapshot

JsonObject = dict[str, JsonValue]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoleChange(_Message):
    """Give ``user_id`` the role ``role`` at ``at`` (``set_role``)."""

    workspace_id: str
    user_id: str
    role: str
    at: UtcDatetime


class OutboxEmail(_Message):
    """An email to send once per ``idempotency_key`` (``to`` None: nobody to write to)."""

    workspace_id: str
    idempotency_key: str
    template: str
    to: str | None
    at: UtcDatetime
    data: JsonObject = {}


class SubscriptionProjection(_Message):
    """The subscription as SQL reporting sees it; ``version`` grows with every projection."""

    workspace_id: str
    catalog: str
    status: str
    plan: str | None
    paid_seats: NonNegativeInt = 0
    period_start: UtcDatetime | None = None
    period_end: UtcDatetime | None = None
    trial_ends_at: UtcDatetime | None = None
    cancel_at: UtcDatetime | None = None
    pending_change: JsonObject | None = None
    credit_balance: int = 0
    updated_at: UtcDatetime
    version: NonNegativeInt


class TimelineEvent(_Message):
    """One ``subscription_events`` row; ``dedupe_key`` (unique per workspace) makes it once."""

    at: UtcDatetime
    event: str
    dedupe_key: str
    data: JsonObject = {}


class AuditEntry(_Message):
    """Who did what and why; ``request_id`` (unique per workspace) makes it once."""

    workspace_id: str
    request_id: str
    at: UtcDatetime
    actor: str
    action: str
    reason: str | None = None
    before: JsonObject | None = None
    after: JsonObject | None = None


class SeatLedgerEntry(_Message):
    """One seat assigned (+1) or released (-1); ``entry_key`` (unique per workspace) makes it once."""

    workspace_id: str
    entry_key: str
    at: UtcDatetime
    user_id: str
    seat_type: str
    cycle: Literal["monthly", "annual"]
    quantity: Literal[1, -1]
    reason: str


class DecisionRecord(_Message):
    """Everything one decision writes to the record, in ONE transaction (one activity).

    Attributes:
        new_members: members the decision added to the roster.
        removed_members: members the decision removed (their row goes: they keep no role,
            get no billing e-mail and are never restored; the timeline keeps their history).
        role_changes: members whose role changed (their grant time restarts).
        seats: users whose paid seat changed: the seat now held, or None.
        seat_entries: new rows of the append-only seat ledger.
        events: timeline rows.
        emails: outbox rows; ``to`` None means "the billing contact, else the
            earliest-granted member holding one of ``admin_roles``".
        projection: the ``subscriptions`` row.
        audit: who asked for the command, when a person did.
        entitlements: the entitlements after the decision (None in records written before
            they existed: their histories still decode; nothing is projected for them).
    """

    workspace_id: str
    admin_roles: list[str] = []
    new_members: list[Member] = []
    removed_members: list[str] = []
    role_changes: list[RoleChange] = []
    seats: dict[str, MemberSeat | None] = {}
    seat_entries: list[SeatLedgerEntry] = []
    events: list[TimelineEvent] = []
    emails: list[OutboxEmail] = []
    projection: SubscriptionProjection
    audit: AuditEntry | None = None
    entitlements: EntitlementsSnapshot | None = None

"""The outbound events: which business fact becomes which public event, with which payload.

Pure and written once: the activities that write a change (the decision record, the revert
and the reactivation, the data-source deletion, the invoice status moves) call these
functions and append what they return in the same transaction (`db.event_log`). A payload is
the changed object as the API shows it. Every ``key`` is derived from business ids (the
timeline's dedupe key, the projection's version, the invoice number), so a retried activity
produces the same keys and the log appends nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

Payload = dict[str, JsonValue]

# The projection fields whose change is a `subscription.updated` (the rest, like the credit
# balance or the paid-seat count, have events of their own or are not the subscription's terms).
WATCHED: Final = (
    "status",
    "plan",
    "period_start",
    "period_end",
    "cancel_at",
    "trial_ends_at",
    "pending_change",
)
# What the `subscription.*` payload shows of the projection.
SHOWN: Final = (*WATCHED, "catalog", "paid_seats", "credit_balance")

# Timeline facts that name one object of the workspace, and the public type each one is.
# Seats are not among them: a revert releases seats without a timeline row per seat, so
# `seat_events` compares the seats held before and after a write instead.
TIMELINE_TYPES: Final[Mapping[str, str]] = {
    "member_added": "member.added",
    "member_removed": "member.removed",
    "member_suspended": "member.suspended",
    "member_restored": "member.restored",
    "connection_deleted": "connection.deleted",
    "data_source_deletion_warned": "data_source.deletion_scheduled",
    "data_source_deletion_cancelled": "data_source.deletion_canceled",
    "data_source_deleted": "data_source.deleted",
    "agent_deactivated": "agent.deactivated",
    "agent_reactivated": "agent.reactivated",
    "slack_bot_removed": "slack_bot.removed",
    "trial_will_end": "trial.will_end",
}
# Timeline facts about members whose payload is the member as stored (the activity looks it up).
MEMBER_FACTS: Final = frozenset({"member_added", "member_removed", "member_suspended", "member_restored"})

InvoiceMove = Literal["posted", "paid", "payment_failed", "overdue", "voided"]
# Where an invoice's status went → the public move (posting and failed attempts are not moves).
_STATUS_MOVES: Final[Mapping[str, InvoiceMove]] = {"paid": "paid", "overdue": "overdue", "void": "voided"}


class Outbound(BaseModel):
    """One public event: its ``type``, when it happened, its once-only ``key`` and payload."""

    model_config = ConfigDict(frozen=True)

    type: str
    at: datetime
    key: str
    payload: Payload


def _json(value: object) -> JsonValue:
    if isinstance(value, datetime):
        # In UTC, whatever zone the database session answered in: equal instants compare equal.
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value  # type: ignore[return-value]  # str, int, bool, None: JSON already


def member_view(
    user_id: str, role: str | None, status: str, email: str | None, seat_type: str | None, cycle: str | None
) -> Payload:
    """A member as the API shows it (its paid seat, if any)."""
    seat: JsonValue = {"seat_type": seat_type, "cycle": cycle} if seat_type else None
    return {"user_id": user_id, "role": role, "status": status, "email": email, "seat": seat}


def from_timeline(
    event: str, at: datetime, key: str, data: Mapping[str, JsonValue], subject: Payload | None = None
) -> Outbound | None:
    """The public event a timeline fact is, or None when it is internal.

    Args:
        event, at, key, data: the timeline row (``key`` its dedupe key).
        subject: the member as stored, when the fact is about a member (`member_view`; a
            removed member as it was before removal).
    """
    kind = TIMELINE_TYPES.get(event)
    if kind is None:
        return None
    return Outbound(type=kind, at=at, key=key, payload=_payload(event, data, subject or {}))


def _payload(event: str, data: Mapping[str, JsonValue], subject: Payload) -> Payload:
    if event in MEMBER_FACTS:
        member = subject or member_view(str(data.get("user")), None, "active", None, None, None)
        return {**member, "status": "removed"} if event == "member_removed" else member
    if event == "connection_deleted":
        return {"id": data.get("connection_id"), "status": "deleted"}
    if event.startswith("data_source_"):
        scheduled = event == "data_source_deletion_warned"
        status = "deleted" if event == "data_source_deleted" else "active"
        payload: Payload = {"id": data.get("data_source_id"), "status": status}
        if scheduled:
            payload |= {"bytes": data.get("bytes"), "deletion_scheduled_at": data.get("delete_at")}
        if event == "data_source_deletion_cancelled":
            payload["deletion_scheduled_at"] = None
        return payload
    if event.startswith("agent_"):
        return {
            "id": data.get("agent_id"),
            "status": "active" if event == "agent_reactivated" else "deactivated",
        }
    if event == "slack_bot_removed":
        return {"installed": False}
    return {"ends_at": data.get("ends_at"), "plan": data.get("plan")}  # trial_will_end


SeatHeld = tuple[str, str] | None  # (seat type, cycle), or no paid seat


def seat_events(
    before: Mapping[str, SeatHeld],
    after: Mapping[str, SeatHeld],
    at: datetime,
    key: str,
    reasons: Mapping[str, str] | None = None,
) -> list[Outbound]:
    """``seat.assigned|unassigned|changed`` for each user whose paid seat differs, by user id.

    Args:
        before: the seats held before the write (a user missing: no seat).
        after: the seats the write sets (only the users it touches).
        key: the write's business key (the projection version, the revert's instant); each
            event's key adds the user.
        reasons: why a user's seat moved (the seat ledger's reason), when known.
    """
    found: list[Outbound] = []
    for user in sorted(after):
        old, new = before.get(user), after[user]
        if old == new:
            continue
        kind = "seat.assigned" if old is None else "seat.unassigned" if new is None else "seat.changed"
        held = new or old
        assert held is not None  # old != new, so one of them holds a seat
        payload: Payload = {"user_id": user, "seat_type": held[0], "cycle": held[1]}
        if old is not None and new is not None:
            payload |= {"previous_seat_type": old[0], "previous_cycle": old[1]}
        if reasons and user in reasons:
            payload["reason"] = reasons[user]
        found.append(Outbound(type=kind, at=at, key=f"{key}:seat:{user}", payload=payload))
    return found


def subscription_events(
    stored: Mapping[str, object] | None, new: Mapping[str, object], version: int, at: datetime
) -> list[Outbound]:
    """``subscription.created`` for a workspace's first projection, ``subscription.updated``
    when a watched field changed (the payload's ``previous`` holds their old values).

    Args:
        stored: the projection stored now (None: there is none yet), with its ``version``.
        new: the projection the decision writes; ``version`` its version.
    """
    shown: Payload = {f: _json(new.get(f)) for f in SHOWN}
    if stored is None:
        return [Outbound(type="subscription.created", at=at, key="subscription:created", payload=shown)]
    if int(str(stored.get("version", 0))) >= version:
        return []  # a stale or repeated write: the stored projection stays
    previous = {f: _json(stored.get(f)) for f in WATCHED if _json(stored.get(f)) != shown[f]}
    if not previous:
        return []
    payload: Payload = {**shown, "previous": dict(previous)}
    return [Outbound(type="subscription.updated", at=at, key=f"subscription:v{version}", payload=payload)]


def invoice_moves(before: str | None, after: str) -> list[InvoiceMove]:
    """The public moves of an invoice whose status went from ``before`` (None: new) to ``after``."""
    if before == after:
        return []
    moves: list[InvoiceMove] = ["posted"] if before is None else []
    if after in _STATUS_MOVES:
        moves.append(_STATUS_MOVES[after])
    return moves


def invoice_event(
    move: InvoiceMove, invoice: Mapping[str, object], at: datetime, attempt: int = 0
) -> Outbound:
    """``invoice.<move>`` with the invoice as the API shows it; once per invoice and move
    (a failed payment once per attempt)."""
    number = str(invoice["number"])
    key = f"invoice:{number}:{move}" + (f":{attempt}" if move == "payment_failed" else "")
    payload: Payload = {k: _json(v) for k, v in invoice.items()}
    return Outbound(type=f"invoice.{move}", at=at, key=key, payload=payload)

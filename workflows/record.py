"""The record one decision writes: built here (pure), written by one activity.

The workflow is the one writer of the roster, the seats and the seat ledger; SQL
reporting and the revert snapshot read them from the database. Every part carries a key
derived from the decision itself, so a retried activity or a replayed workflow writes
nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from pydantic import JsonValue

from billing.catalog import Catalog
from billing.commands import Command
from billing.effects import Effect, RecordEvent, SendEmail
from billing.entitlements import grant, subscription_counts
from billing.state import BillingState, seats_held
from billing.workspace import Member as WorkspaceMember
from billing.workspace import MemberSeat
from contracts.entitlements import EntitlementsSnapshot
from contracts.records import (
    AuditEntry,
    DecisionRecord,
    OutboxEmail,
    RoleChange,
    SeatLedgerEntry,
    SubscriptionProjection,
    TimelineEvent,
)


def projection(state: BillingState, now: datetime, version: int) -> SubscriptionProjection:
    """The `subscriptions` row for ``state``."""
    pending = state.pending_change
    return SubscriptionProjection(
        workspace_id=state.workspace_id,
        catalog=state.catalog_name,
        status=state.status,
        plan=state.plan,
        paid_seats=len(seats_held(state)),
        period_start=state.period_start,
        period_end=state.period_end,
        trial_ends_at=state.trial.ends_at if state.trial else None,
        cancel_at=state.cancel_at,
        pending_change=pending.model_dump(mode="json") if pending else None,
        credit_balance=state.credit_balance,
        updated_at=now,
        version=version,
    )


def _dedupe_key(event: RecordEvent) -> str:
    # Same event, same instant, same data → same key.
    data = json.dumps(event.data, sort_keys=True, separators=(",", ":"))
    return f"{event.at.isoformat()}|{event.event}|{data}"


def _email(workspace_id: str, effect: SendEmail) -> OutboxEmail:
    data = json.dumps(effect.data, sort_keys=True)
    return OutboxEmail(
        workspace_id=workspace_id,
        idempotency_key=f"{workspace_id}|{effect.template}|{effect.at.isoformat()}|{data}",
        template=effect.template,
        to=None,  # resolved in the transaction: the billing contact, else an admin
        at=effect.at,
        data=dict(effect.data),
    )


def _summary(state: BillingState) -> dict[str, JsonValue]:
    return {"status": state.status, "plan": state.plan, "paid_seats": len(seats_held(state))}


def _seat_changes(before: BillingState, after: BillingState) -> dict[str, MemberSeat | None]:
    held_before, held_after = seats_held(before), seats_held(after)
    changes: dict[str, MemberSeat | None] = {}
    for user in sorted(set(held_before) | set(held_after)):
        old, new = held_before.get(user), held_after.get(user)
        if (old and (old.seat_type, old.cycle)) != (new and (new.seat_type, new.cycle)):
            changes[user] = MemberSeat(seat_type=new.seat_type, cycle=new.cycle) if new else None
    return changes


def build_record(
    before: BillingState,
    after: BillingState,
    effects: Sequence[Effect],
    catalog: Catalog,
    now: datetime,
    version: int,
    command: Command | None = None,
) -> DecisionRecord:
    """Everything the decision from ``before`` to ``after`` writes to the database."""
    ws = after.workspace_id
    new_members = [
        WorkspaceMember(user_id=u, role=m.role, role_granted_at=m.role_granted_at)
        for u, m in after.members.items()
        if u not in before.members
    ]
    removed_members = sorted(u for u in before.members if u not in after.members)
    role_changes = [
        RoleChange(workspace_id=ws, user_id=u, role=m.role, at=m.role_granted_at)
        for u, m in after.members.items()
        if u in before.members and before.members[u].role != m.role
    ]
    # The ledger is append-only: an entry's index is its stable key.
    seat_entries = [
        SeatLedgerEntry(
            workspace_id=ws,
            entry_key=f"ledger:{index}",
            at=entry.at,
            user_id=entry.user,
            seat_type=entry.seat_type,
            cycle=entry.cycle,
            quantity=entry.quantity,
            reason=entry.reason,
        )
        for index, entry in enumerate(after.seat_ledger)
        if index >= len(before.seat_ledger)
    ]
    audit = None
    if command is not None and command.actor is not None:
        audit = AuditEntry(
            workspace_id=ws,
            request_id=command.request_id,
            at=now,
            actor=command.actor,
            action=command.kind,
            reason=command.reason,
            before=_summary(before),
            after=_summary(after),
        )
    return DecisionRecord(
        workspace_id=ws,
        admin_roles=list(catalog.roles.billing_admin),
        new_members=new_members,
        removed_members=removed_members,
        role_changes=role_changes,
        seats=_seat_changes(before, after),
        seat_entries=seat_entries,
        events=[
            TimelineEvent(at=e.at, event=e.event, dedupe_key=_dedupe_key(e), data=dict(e.data))
            for e in effects
            if isinstance(e, RecordEvent)
        ],
        emails=[_email(ws, e) for e in effects if isinstance(e, SendEmail)],
        projection=projection(after, now, version),
        audit=audit,
        entitlements=EntitlementsSnapshot(
            grant=grant(after, catalog, now), counts=subscription_counts(after, catalog)
        ),
    )

"""Writing one decision's record in one transaction (the workflow's main database write).

One activity per decision, not one per row kind: fewer round trips and history events per
command, and the record of a decision is never half written.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from activities.entitlements import project_entitlements
from activities.records import member_values, member_views, outbox_row, publish, seats_of, timeline_row
from billing.events import MEMBER_FACTS, Outbound, Payload, from_timeline, seat_events, subscription_events
from contracts.records import DecisionRecord
from db import profile_repo, records_repo
from db import workspace_repo as repo
from db.workspace_models import MemberRow
from observability import metrics


async def _recipient(session: AsyncSession, record: DecisionRecord) -> str | None:
    contact = await profile_repo.billing_contact(session, record.workspace_id)
    if contact:
        return contact
    found = await session.scalar(
        select(MemberRow.email)
        .where(
            MemberRow.workspace_id == record.workspace_id,
            MemberRow.role.in_(record.admin_roles),
            MemberRow.status == "active",
            MemberRow.email.is_not(None),
        )
        .order_by(MemberRow.role_granted_at, MemberRow.user_id)
        .limit(1)
    )
    return found


async def write_decision(session: AsyncSession, record: DecisionRecord) -> None:
    """Write ``record``; every part is keyed, so writing it twice changes nothing.

    The workspace's own rows (roster, seats, ledger) are only touched while the workspace
    is live; the record tables (timeline, outbox, projection, audit, public events) always
    are: they are what explains a charge, even after "delete everything".
    """
    ws = record.workspace_id
    row = await repo.lock_workspace(session, ws)
    # A removed member's public event shows the member as it was, a seat event the seat
    # held before: read both before the writes.
    before = await member_views(session, ws, [*record.removed_members, *record.seats])
    if row is not None and row.deleted_at is None:
        if record.removed_members:
            await repo.remove_members(session, ws, record.removed_members)
        for member in record.new_members:
            await repo.upsert_member(session, member_values(ws, member))
        for change in record.role_changes:
            await repo.set_member_role(session, ws, change.user_id, change.role, change.at)
        if record.seats:
            await repo.set_seats(
                session, ws, {u: (s.seat_type, s.cycle) if s else None for u, s in record.seats.items()}
            )
        for entry in record.seat_entries:
            await records_repo.insert_seat_entry(session, entry.model_dump())
    if record.events:
        rows = [timeline_row(ws, e.at, e.event, e.dedupe_key, e.data) for e in record.events]
        await records_repo.insert_events(session, rows)
    for email in record.emails:
        if email.to is None:
            email = email.model_copy(update={"to": await _recipient(session, record)})
        await records_repo.insert_outbox(session, outbox_row(email))
    stored = await records_repo.stored_subscription(session, ws)
    await records_repo.upsert_subscription(session, record.projection.model_dump())
    if record.audit is not None:
        await records_repo.insert_audit(session, record.audit.model_dump())
    await publish(session, ws, await _public_events(session, record, stored, before))
    # The entitlements projection and its event (issue 15), last, in the same transaction.
    await project_entitlements(session, record)
    metrics.DECISIONS.labels("live" if row is not None and row.deleted_at is None else "records_only").inc()


async def _public_events(
    session: AsyncSession,
    record: DecisionRecord,
    stored: dict[str, object] | None,
    before: dict[str, Payload],
) -> list[Outbound | None]:
    """The decision's public events: the subscription's change, each fact's, then the seats'."""
    p = record.projection
    found: list[Outbound | None] = list(subscription_events(stored, p.model_dump(), p.version, p.updated_at))
    users = [str(e.data.get("user")) for e in record.events if e.event in MEMBER_FACTS]
    removed = {u: v for u, v in before.items() if u in record.removed_members}
    members = {**await member_views(session, record.workspace_id, users), **removed}
    found += [
        from_timeline(e.event, e.at, e.dedupe_key, e.data, members.get(str(e.data.get("user"))))
        for e in record.events
    ]
    seats = {u: (s.seat_type, s.cycle) if s else None for u, s in record.seats.items()}
    reasons = {e.user_id: e.reason for e in record.seat_entries}
    found += seat_events(seats_of(before), seats, p.updated_at, f"v{p.version}", reasons)
    return found

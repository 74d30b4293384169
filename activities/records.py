"""What the database activities share: the live-workspace guard and its errors, and the
mapping between activity messages and table rows (register, snapshot, timeline, outbox).

No activities here: `activities.workspace.WorkspaceActivities` holds them all, and
`activities.decision.write_decision` writes a decision's record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.exceptions import ApplicationError

from billing.events import MEMBER_FACTS, Outbound, Payload, SeatHeld, from_timeline, member_view
from billing.workspace import Agent, Connection, DataSource, Member, WorkspaceSnapshot
from contracts.errors import INVALID_ARGUMENT, WORKSPACE_DELETED, WORKSPACE_NOT_FOUND
from contracts.events import NewEvent
from contracts.records import OutboxEmail
from contracts.workspace import WorkspaceSetup
from db import event_log
from db import workspace_repo as repo
from db.invoice_models import BillingProfileRow
from db.workspace_models import AgentRow, ConnectionRow, DataSourceRow, DocumentRow, MemberRow, WorkspaceRow
from db.workspace_repo import WorkspaceData, lock_workspace


def not_found(workspace_id: str) -> ApplicationError:
    """The non-retryable error for an unknown workspace (retrying cannot make it exist)."""
    return ApplicationError(f"no workspace {workspace_id!r}", type=WORKSPACE_NOT_FOUND, non_retryable=True)


def deleted(workspace_id: str) -> ApplicationError:
    """The non-retryable error for a workspace whose data was deleted ("delete everything")."""
    return ApplicationError(
        f"workspace {workspace_id!r} was deleted", type=WORKSPACE_DELETED, non_retryable=True
    )


async def live_workspace(session: AsyncSession, workspace_id: str) -> WorkspaceRow:
    """The workspace row, locked for this transaction.

    Raises:
        ApplicationError: ``workspace_not_found`` or ``workspace_deleted``, non-retryable:
            retrying cannot make the workspace exist again.
    """
    row = await lock_workspace(session, workspace_id)
    if row is None:
        raise not_found(workspace_id)
    if row.deleted_at is not None:
        raise deleted(workspace_id)
    return row


def member_values(ws: str, m: Member) -> dict[str, Any]:
    """Column values of one ``members`` row."""
    return {
        "workspace_id": ws,
        "user_id": m.user_id,
        "role": m.role,
        "role_granted_at": m.role_granted_at,
        "status": m.status,
        "email": m.email,
        "seat_type": m.seat.seat_type if m.seat else None,
        "seat_cycle": m.seat.cycle if m.seat else None,
    }


def _unique(kind: str, ids: list[str]) -> None:
    # One upsert statement cannot touch a row twice: refuse duplicates with a clear error.
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ApplicationError(
            f"duplicate {kind} ids: {', '.join(duplicates)}", type=INVALID_ARGUMENT, non_retryable=True
        )


async def register(session: AsyncSession, setup: WorkspaceSetup) -> None:
    """Upsert the workspace and every entity of ``setup`` (the caller locked the workspace)."""
    ws = setup.workspace_id
    documents = [
        {"workspace_id": ws, "id": d.id, "connection_id": c.id, "data_source_id": None, "bytes": d.bytes}
        for c in setup.connections
        for d in c.documents
    ] + [
        {"workspace_id": ws, "id": d.id, "connection_id": None, "data_source_id": s.id, "bytes": d.bytes}
        for s in setup.data_sources
        for d in s.documents
    ]
    _unique("member", [m.user_id for m in setup.members])
    _unique("connection", [c.id for c in setup.connections])
    _unique("data source", [d.id for d in setup.data_sources])
    _unique("agent", [a.id for a in setup.agents])
    _unique("document", [str(d["id"]) for d in documents])
    workspace = {"id": ws, "spaces": setup.spaces}
    await repo.upsert_rows(session, WorkspaceRow, [workspace], ["id"])
    if setup.billing_contact_email is not None:
        # The one home of the billing contact: the billing details show it, e-mail and
        # Stripe use it, and `PUT …/billing-details` changes it for all three.
        profile = {"workspace_id": ws, "billing_email": setup.billing_contact_email}
        await repo.upsert_rows(session, BillingProfileRow, [profile], ["workspace_id"])
    keys = ["workspace_id", "user_id"]
    await repo.upsert_rows(session, MemberRow, [member_values(ws, m) for m in setup.members], keys)
    keys = ["workspace_id", "id"]
    connections = [
        {"workspace_id": ws, "id": c.id, "kind": c.kind, "status": c.status} for c in setup.connections
    ]
    await repo.upsert_rows(session, ConnectionRow, connections, keys)
    sources = [
        {
            "workspace_id": ws,
            "id": d.id,
            "bytes": d.bytes,
            "status": d.status,
            "deletion_scheduled_at": d.deletion_scheduled_at,
        }
        for d in setup.data_sources
    ]
    await repo.upsert_rows(session, DataSourceRow, sources, keys)
    await repo.upsert_rows(session, DocumentRow, documents, keys)
    agents = [{"workspace_id": ws, "id": a.id, "status": a.status} for a in setup.agents]
    await repo.upsert_rows(session, AgentRow, agents, keys)
    await repo.set_slack_bot(session, ws, setup.slack_bot)


def snapshot_of(data: WorkspaceData) -> WorkspaceSnapshot:
    """The pure model of what the database holds (validated: a bad row fails loudly here)."""
    members = [
        Member.model_validate(
            {
                "user_id": m.user_id,
                "role": m.role,
                "role_granted_at": m.role_granted_at,
                "status": m.status,
                "email": m.email,
                "seat": {"seat_type": m.seat_type, "cycle": m.seat_cycle} if m.seat_type else None,
            }
        )
        for m in data.members
    ]
    sources = [
        DataSource.model_validate(
            {
                "id": d.id,
                "bytes": d.bytes,
                "status": d.status,
                "deletion_scheduled_at": d.deletion_scheduled_at,
            }
        )
        for d in data.data_sources
    ]
    return WorkspaceSnapshot(
        workspace_id=data.workspace.id,
        members=members,
        connections=[Connection.model_validate({"id": c.id, "status": c.status}) for c in data.connections],
        data_sources=sources,
        agents=[Agent.model_validate({"id": a.id, "status": a.status}) for a in data.agents],
        slack_bot=data.slack_bot,
        spaces=data.workspace.spaces,
        billing_contact_email=data.billing_contact_email,
    )


def timeline_row(
    ws: str, at: datetime, event: str, dedupe_key: str, data: Mapping[str, JsonValue]
) -> dict[str, Any]:
    """Column values of one ``subscription_events`` row."""
    return {"workspace_id": ws, "at": at, "event": event, "dedupe_key": dedupe_key, "data": dict(data)}


def outbox_row(email: OutboxEmail) -> dict[str, Any]:
    """Column values of one ``email_outbox`` row."""
    return {
        "workspace_id": email.workspace_id,
        "idempotency_key": email.idempotency_key,
        "template": email.template,
        "to_address": email.to,
        "data": email.data,
        "created_at": email.at,
    }


async def member_views(session: AsyncSession, ws: str, user_ids: Sequence[str]) -> dict[str, Payload]:
    """The listed members as the API shows them (the subject of their public events)."""
    if not user_ids:
        return {}
    rows = await session.scalars(
        select(MemberRow).where(MemberRow.workspace_id == ws, MemberRow.user_id.in_(list(user_ids)))
    )
    return {
        m.user_id: member_view(m.user_id, m.role, m.status, m.email, m.seat_type, m.seat_cycle) for m in rows
    }


async def publish(session: AsyncSession, ws: str, events: Iterable[Outbound | None]) -> None:
    """Append the public events of a change, in the change's transaction (once per key)."""
    new = [
        NewEvent(workspace_id=ws, type=e.type, occurred_at=e.at, source_key=e.key, payload=e.payload)
        for e in events
        if e is not None
    ]
    await event_log.append(session, new)


def seats_of(members: Mapping[str, Payload]) -> dict[str, SeatHeld]:
    """The paid seat each of ``members`` (`member_views`) holds."""
    held: dict[str, SeatHeld] = {}
    for user, view in members.items():
        seat = view.get("seat")
        held[user] = (str(seat["seat_type"]), str(seat["cycle"])) if isinstance(seat, dict) else None
    return held


async def publish_timeline(
    session: AsyncSession, ws: str, rows: Sequence[Mapping[str, Any]], first: Sequence[Outbound] = ()
) -> None:
    """Append ``first``, then the public events of timeline rows (`timeline_row`), members
    as stored now. Call it last in the transaction: the log's lock is held to the commit."""
    users = [str(r["data"].get("user")) for r in rows if r["event"] in MEMBER_FACTS]
    members = await member_views(session, ws, users)
    events: list[Outbound | None] = list(first)
    events += [
        from_timeline(
            r["event"], r["at"], r["dedupe_key"], r["data"], members.get(str(r["data"].get("user")))
        )
        for r in rows
    ]
    await publish(session, ws, events)

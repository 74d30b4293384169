"""Reads of the invariant checker (`services.verify`): what the record holds, one workspace
at a time, as plain tuples. Read-only; the caller owns the session.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from db.entitlement_models import EntitlementRow
from db.event_models import EventRow
from db.invoice_models import BillingProfileRow, InvoiceRow
from db.subscription_models import AuditLogRow, EmailOutboxRow, SubscriptionRow
from db.webhook_models import WebhookDeliveryRow, WebhookEndpointRow
from db.workspace_models import MemberRow, WorkspaceRow


async def workspace_ids(session: AsyncSession) -> list[str]:
    """Every workspace the record knows (registered, or with a subscription projection)."""
    ids = union(select(WorkspaceRow.id), select(SubscriptionRow.workspace_id))
    return sorted(await session.scalars(select(ids.subquery().c[0])))


async def deleted_at(session: AsyncSession, workspace_id: str) -> datetime | None:
    """When the workspace's data was deleted (None: live, or never registered)."""
    found: datetime | None = await session.scalar(
        select(WorkspaceRow.deleted_at).where(WorkspaceRow.id == workspace_id)
    )
    return found


async def audit(session: AsyncSession, workspace_id: str) -> list[tuple[int, str, str]]:
    """``(id, request_id, action)`` of the workspace's audit rows, oldest first."""
    rows = await session.execute(
        select(AuditLogRow.id, AuditLogRow.request_id, AuditLogRow.action)
        .where(AuditLogRow.workspace_id == workspace_id)
        .order_by(AuditLogRow.id)
    )
    return [(int(i), str(r), str(a)) for i, r, a in rows.all()]


async def members(
    session: AsyncSession, workspace_id: str
) -> list[tuple[str, str, str, str | None, str | None]]:
    """``(user_id, role, status, seat_type, seat_cycle)`` of the roster."""
    rows = await session.execute(
        select(MemberRow.user_id, MemberRow.role, MemberRow.status, MemberRow.seat_type, MemberRow.seat_cycle)
        .where(MemberRow.workspace_id == workspace_id)
        .order_by(MemberRow.user_id)
    )
    return [tuple(r) for r in rows.all()]


async def entitlement_row(session: AsyncSession, workspace_id: str) -> dict[str, Any] | None:
    """The entitlements projection as column values (None: none yet)."""
    row = await session.get(EntitlementRow, workspace_id)
    if row is None:
        return None
    return {c.key: getattr(row, c.key) for c in EntitlementRow.__table__.columns}


async def invoices(session: AsyncSession, workspace_id: str) -> list[tuple[str, str, int, str | None]]:
    """``(number, status, total, stripe_invoice_id)`` of the workspace's invoices."""
    rows = await session.execute(
        select(InvoiceRow.number, InvoiceRow.status, InvoiceRow.total, InvoiceRow.stripe_invoice_id)
        .where(InvoiceRow.workspace_id == workspace_id)
        .order_by(InvoiceRow.number)
    )
    return [(str(n), str(s), int(t), i) for n, s, t, i in rows.all()]


async def stripe_customers(session: AsyncSession, workspace_id: str) -> list[str]:
    """The Stripe customers the workspace's billing profile and invoices name."""
    profile = select(BillingProfileRow.stripe_customer_id).where(
        BillingProfileRow.workspace_id == workspace_id
    )
    billed = select(InvoiceRow.stripe_customer_id).where(InvoiceRow.workspace_id == workspace_id)
    found = await session.scalars(select(union(profile, billed).subquery().c[0]))
    return sorted(c for c in found if c)


async def event_sequences(session: AsyncSession, workspace_id: str) -> list[int]:
    """The workspace's event ``workspace_seq`` values, in order."""
    found = await session.scalars(
        select(EventRow.workspace_seq)
        .where(EventRow.workspace_id == workspace_id)
        .order_by(EventRow.workspace_seq)
    )
    return [int(s) for s in found]


async def outbox(session: AsyncSession, workspace_id: str) -> list[tuple[str, datetime, bool, bool]]:
    """``(idempotency_key, created_at, sent, failed)`` of the workspace's e-mails."""
    rows = await session.execute(
        select(
            EmailOutboxRow.idempotency_key,
            EmailOutboxRow.created_at,
            EmailOutboxRow.sent_at.is_not(None),
            EmailOutboxRow.failed_at.is_not(None),
        ).where(EmailOutboxRow.workspace_id == workspace_id)
    )
    return [(str(k), c, bool(s), bool(f)) for k, c, s, f in rows.all()]


async def endpoints(session: AsyncSession) -> list[tuple[str, str, list[str], int]]:
    """``(id, status, event_types, start_seq)`` of every webhook endpoint."""
    rows = await session.execute(
        select(
            WebhookEndpointRow.id,
            WebhookEndpointRow.status,
            WebhookEndpointRow.event_types,
            WebhookEndpointRow.start_seq,
        )
    )
    return [(str(i), str(s), list(t), int(q)) for i, s, t, q in rows.all()]


async def events(session: AsyncSession, workspace_id: str) -> list[tuple[str, str, int, datetime]]:
    """``(id, type, seq, occurred_at)`` of the workspace's events."""
    rows = await session.execute(
        select(EventRow.id, EventRow.type, EventRow.seq, EventRow.occurred_at).where(
            EventRow.workspace_id == workspace_id
        )
    )
    return [(str(i), str(t), int(s), o) for i, t, s, o in rows.all()]


async def delivered(session: AsyncSession, workspace_id: str) -> Sequence[tuple[str, str, int]]:
    """``(endpoint_id, event_id, successful deliveries)`` of the workspace's events."""
    rows = await session.execute(
        select(WebhookDeliveryRow.endpoint_id, WebhookDeliveryRow.event_id, func.count())
        .where(WebhookDeliveryRow.workspace_id == workspace_id, WebhookDeliveryRow.ok.is_(True))
        .group_by(WebhookDeliveryRow.endpoint_id, WebhookDeliveryRow.event_id)
    )
    return [(str(e), str(v), int(n)) for e, v, n in rows.all()]

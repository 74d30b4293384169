"""SQL of the e-mail relay over ``email_outbox``: claim one due row, record how sending went,
resolve who receives it, list the refusals the overview warns about.

The caller owns the transaction. A claimed row stays locked (``FOR UPDATE SKIP LOCKED``)
until the caller commits what happened to it, so two relays never hold the same row.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.invoice_models import BillingProfileRow, InvoiceRow
from db.subscription_models import EmailOutboxRow, SubscriptionRow
from db.workspace_models import MemberRow


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        EmailOutboxRow.sent_at.is_(None),
        EmailOutboxRow.failed_at.is_(None),
        or_(EmailOutboxRow.next_attempt_at.is_(None), EmailOutboxRow.next_attempt_at <= now),
    ]


async def claim_due(
    session: AsyncSession, now: datetime, workspace_id: str | None = None
) -> EmailOutboxRow | None:
    """The oldest row due at ``now`` nobody else holds (of ``workspace_id`` only, if given),
    locked until the caller's commit."""
    only = [EmailOutboxRow.workspace_id == workspace_id] if workspace_id is not None else []
    row: EmailOutboxRow | None = await session.scalar(
        select(EmailOutboxRow)
        .where(*_due(now), *only)
        .order_by(EmailOutboxRow.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return row


async def next_due_at(session: AsyncSession) -> datetime | None:
    """The earliest ``next_attempt_at`` of a row waiting out a backoff (None: none waits)."""
    found: datetime | None = await session.scalar(
        select(EmailOutboxRow.next_attempt_at)
        .where(EmailOutboxRow.sent_at.is_(None), EmailOutboxRow.failed_at.is_(None))
        .order_by(EmailOutboxRow.next_attempt_at)
        .limit(1)
    )
    return found


async def mark_sent(
    session: AsyncSession, row_id: int, at: datetime, recipients: Sequence[str], note: str | None = None
) -> None:
    """The server accepted the message (250) for ``recipients``; ``note`` names refused extras."""
    await session.execute(
        update(EmailOutboxRow)
        .where(EmailOutboxRow.id == row_id)
        .values(
            sent_at=at,
            recipients=list(recipients),
            attempts=EmailOutboxRow.attempts + 1,
            next_attempt_at=None,
            last_error=note,
        )
    )


async def mark_retry(session: AsyncSession, row_id: int, error: str, retry_at: datetime) -> None:
    """A transient failure: try again at ``retry_at``."""
    await session.execute(
        update(EmailOutboxRow)
        .where(EmailOutboxRow.id == row_id)
        .values(attempts=EmailOutboxRow.attempts + 1, last_error=error, next_attempt_at=retry_at)
    )


async def mark_failed(
    session: AsyncSession, row_id: int, error: str, at: datetime, recipients: Sequence[str] = ()
) -> None:
    """A permanent failure (``recipients``: who it was addressed to, if anyone): never tried
    again, shown in the overview's warnings."""
    await session.execute(
        update(EmailOutboxRow)
        .where(EmailOutboxRow.id == row_id)
        .values(
            attempts=EmailOutboxRow.attempts + 1,
            last_error=error,
            failed_at=at,
            next_attempt_at=None,
            recipients=list(recipients) or None,
        )
    )


async def refused(session: AsyncSession, workspace_id: str, limit: int = 5) -> list[EmailOutboxRow]:
    """The workspace's e-mails that failed for good or were refused for some recipients,
    newest first."""
    rows = await session.scalars(
        select(EmailOutboxRow)
        .where(
            EmailOutboxRow.workspace_id == workspace_id,
            EmailOutboxRow.last_error.is_not(None),
            or_(EmailOutboxRow.failed_at.is_not(None), EmailOutboxRow.sent_at.is_not(None)),
        )
        .order_by(EmailOutboxRow.id.desc())
        .limit(limit)
    )
    return list(rows)


async def billing_contact(session: AsyncSession, workspace_id: str) -> str | None:
    """The billing contact as of now (its one home: the billing profile)."""
    found: str | None = await session.scalar(
        select(BillingProfileRow.billing_email).where(BillingProfileRow.workspace_id == workspace_id)
    )
    return found


async def catalog_name(session: AsyncSession, workspace_id: str) -> str | None:
    """The catalog of the workspace's subscription (its SQL projection)."""
    found: str | None = await session.scalar(
        select(SubscriptionRow.catalog).where(SubscriptionRow.workspace_id == workspace_id)
    )
    return found


async def active_emails(
    session: AsyncSession, workspace_id: str, roles: Collection[str] | None = None
) -> list[str]:
    """E-mails of the workspace's active members (holding one of ``roles`` if given), in
    the order their role was granted."""
    query = select(MemberRow.email).where(
        MemberRow.workspace_id == workspace_id,
        MemberRow.status == "active",
        MemberRow.email.is_not(None),
    )
    if roles is not None:
        query = query.where(MemberRow.role.in_(list(roles)))
    found = await session.scalars(query.order_by(MemberRow.role_granted_at, MemberRow.user_id))
    return [e for e in found if e]


async def invoice_facts(session: AsyncSession, workspace_id: str, number: str) -> dict[str, str | int]:
    """What the invoices table knows now of invoice ``number``: total, currency and the
    Stripe documents (hosted page, PDF) once it has them."""
    row = (
        await session.execute(
            select(
                InvoiceRow.total, InvoiceRow.currency, InvoiceRow.hosted_invoice_url, InvoiceRow.invoice_pdf
            ).where(InvoiceRow.workspace_id == workspace_id, InvoiceRow.number == number)
        )
    ).first()
    if row is None:
        return {}
    facts = {"total": row[0], "currency": row[1], "hosted_invoice_url": row[2], "invoice_pdf": row[3]}
    return {k: v for k, v in facts.items() if v is not None}

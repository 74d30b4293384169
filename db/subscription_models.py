"""Tables of the subscription's record: the SQL projection, the timeline, the audit log, the outbox.

None of them references ``workspaces``: they are billing and legal records that outlive
"delete everything" (see `db.workspace_repo.delete_workspace_data`). History tables are
insert-only; a business key (``dedupe_key``, ``request_id``, ``idempotency_key``) unique
per row turns an activity's retry into ``ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class SubscriptionRow(Base):
    """The workflow's state projected for SQL reporting; the workflow is the source of truth.

    ``version`` increases with every projection: an upsert only applies a newer version,
    so a late retry of an older projection never overwrites newer state.
    """

    __tablename__ = "subscriptions"

    workspace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    plan: Mapped[str | None] = mapped_column(String(60))
    paid_seats: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    period_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pending_change: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    credit_balance: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger)


class SubscriptionEventRow(Base):
    """Insert-only timeline of a subscription (what happened, when, with which data)."""

    __tablename__ = "subscription_events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "dedupe_key"),
        Index("ix_subscription_events_workspace_id_at", "workspace_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    dedupe_key: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditLogRow(Base):
    """Insert-only: who (person or staff) did what to a subscription, why, before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("workspace_id", "request_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EmailOutboxRow(Base):
    """An email to send (transactional outbox): written with the change, sent by a relay.

    ``idempotency_key`` makes each email once however often the activity runs; the relay
    (`activities.email_relay`) sets ``sent_at`` after the server's 250, or ``failed_at`` on
    a permanent refusal; ``next_attempt_at`` is its backoff after a transient one, and
    ``recipients`` who the message went to (recipients are resolved at send time).
    """

    __tablename__ = "email_outbox"
    # What the relay scans: only the rows still to send (a tiny index however long the history).
    __table_args__ = (
        Index(
            "ix_email_outbox_due",
            "id",
            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    template: Mapped[str] = mapped_column(String(60))
    to_address: Mapped[str | None] = mapped_column(String(320))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipients: Mapped[list[str] | None] = mapped_column(JSONB)

"""Typed table models. Every table module is imported here so metadata is complete."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, func
from sqlalchemy.orm import Mapped, mapped_column

# Imported for their side effect: registering their tables with the metadata.
import db.entitlement_models  # (the entitlements projection)
import db.event_models  # (the outbound event log)
import db.invoice_models  # (the invoice and billing tables)
import db.portal_models  # (the billing page's links)
import db.rollup_models  # (the daily usage roll-up tables)
import db.webhook_models  # noqa: F401  (webhook endpoints and their delivery log)
from db.base import Base
from db.subscription_models import AuditLogRow, EmailOutboxRow, SubscriptionEventRow, SubscriptionRow
from db.usage_models import UsageEventRow
from db.workspace_models import (
    AgentRow,
    ConnectionRow,
    DataSourceRow,
    DocumentRow,
    MemberRow,
    SeatLedgerRow,
    SlackBotRow,
    WorkspaceRow,
)

__all__ = [
    "AgentRow",
    "ApiToken",
    "AuditLogRow",
    "ConnectionRow",
    "DataSourceRow",
    "DocumentRow",
    "EmailOutboxRow",
    "MemberRow",
    "SeatLedgerRow",
    "SlackBotRow",
    "SubscriptionEventRow",
    "SubscriptionRow",
    "UsageEventRow",
    "WorkspaceRow",
]


class ApiToken(Base):
    """A bearer token of a backend service or a staff member, stored hashed (SHA-256)."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))  # "service" or "staff"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

"""Usage events as ingested (credits computed at ingestion from the catalog's rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, PrimaryKeyConstraint, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class UsageEventRow(Base):
    """One usage event; ``(workspace_id, event_id)`` makes a replayed event count once.

    No foreign key to ``workspaces``: usage is billing evidence and outlives a deletion.
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        PrimaryKeyConstraint("workspace_id", "event_id"),
        Index("ix_usage_events_workspace_at", "workspace_id", "at"),
    )

    workspace_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    credits: Mapped[int] = mapped_column(BigInteger)
    serverless_minutes: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

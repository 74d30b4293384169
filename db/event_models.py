"""The outbound event log's table: append-only, one row per event, global order by ``seq``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class EventRow(Base):
    """One outbound event.

    ``seq`` is the global cursor: appends serialise on an advisory lock held to the commit,
    so rows become visible in ``seq`` order and a consumer's stored cursor never skips one
    committed later with a smaller number. Like the timeline, it outlives "delete everything".
    """

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "source_key", name="uq_events_workspace_source_key"),
        UniqueConstraint("workspace_id", "workspace_seq", name="uq_events_workspace_seq"),
        Index("ix_events_type_seq", "type", "seq"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    workspace_seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    api_version: Mapped[str] = mapped_column(String(20))
    source_key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

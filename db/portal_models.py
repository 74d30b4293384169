"""The billing page's single-use links (only the token's digest is stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class PortalLinkRow(Base):
    """A link issued for one member of one workspace; ``used_at`` set by its one use."""

    __tablename__ = "portal_links"
    __table_args__ = (Index("ix_portal_links_expires_at", "expires_at"),)  # the pruning

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(200))
    return_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

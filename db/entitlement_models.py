"""The entitlements projection: one row per workspace, written by the decision record.

Like the `subscriptions` projection it references no workspace row (it outlives "delete
everything": a deleted workspace reads ``active: false``) and only a newer ``version``
overwrites it. The counts the subscription keeps (active members, paid seats) are stored
with the grant; what the product writes (connectors, spaces) is counted when it is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class EntitlementRow(Base):
    """What a workspace's subscription grants as of its last decision (``version``)."""

    __tablename__ = "entitlements"

    workspace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    catalog: Mapped[str] = mapped_column(String(40))
    plan: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean)
    features: Mapped[list[Any]] = mapped_column(JSONB)
    max_members: Mapped[int | None] = mapped_column(Integer)
    max_paid_seats: Mapped[int | None] = mapped_column(Integer)
    max_connectors: Mapped[int | None] = mapped_column(Integer)
    max_spaces: Mapped[int | None] = mapped_column(Integer)
    members_used: Mapped[int] = mapped_column(Integer)
    paid_seats_used: Mapped[int] = mapped_column(Integer)
    credits_included: Mapped[int | None] = mapped_column(BigInteger)
    credits_window_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    credits_window_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""The daily usage roll-up (SPEC §4): per workspace per UTC day, and one row per run.

The billing overview reads these ("updated daily"); period-end invoicing never does: it sums
`usage_events` exactly.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.usage_models import UsageEventRow


class UsageDailyRow(Base):
    """Credits, serverless minutes and events of one workspace on one UTC day.

    Rewritten whole by every roll-up that touches the day (never incremented), so a
    repeated roll-up leaves the same numbers.
    """

    __tablename__ = "usage_daily"
    __table_args__ = (PrimaryKeyConstraint("workspace_id", "day"),)

    workspace_id: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    credits: Mapped[int] = mapped_column(BigInteger)
    serverless_minutes: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(BigInteger)
    rolled_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class UsageRollupRow(Base):
    """One roll-up run; the latest one's ``started_at`` is the overview's "as of".

    ``since`` is the ``received_at`` watermark it read from (None: every event), and
    ``first_day``/``last_day`` the UTC days it recomputed (None: no event was new).
    """

    __tablename__ = "usage_rollups"
    __table_args__ = (
        PrimaryKeyConstraint("id"),
        Index("ix_usage_rollups_started_at", "started_at"),
    )

    id: Mapped[str] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    first_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    days: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(BigInteger)


# The roll-up finds the days to recompute from the events received since the last run. A
# BRIN index fits `received_at` (set by the server at insert, so it follows the physical
# order of an insert-only table): a few pages, and next to nothing on the ingestion path.
# Declared here, with the roll-up that needs it.
Index("ix_usage_events_received_at", UsageEventRow.received_at, postgresql_using="brin")

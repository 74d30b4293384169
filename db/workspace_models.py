"""Tables of a workspace's people and data: what a revert, a reactivation and a deletion touch.

Every row is keyed by ``workspace_id`` first: entity ids (user, connection, data source,
agent, document) come from the product and are only unique inside their workspace.
Lifecycle timestamps (``suspended_at``, ``deleted_at`` ...) are the workflow's instants,
passed in by the activities, never ``now()``: re-running an activity writes identical rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


def _workspace_fk() -> ForeignKey:
    """A new FK each time: a ForeignKey object belongs to exactly one column."""
    return ForeignKey("workspaces.id", ondelete="CASCADE")


def _ts() -> Mapped[datetime | None]:
    """A nullable timezone-aware instant (a lifecycle step that may not have happened)."""
    return mapped_column(DateTime(timezone=True), nullable=True)


class WorkspaceRow(Base):
    """A workspace. After "delete everything" the row stays as a tombstone (``deleted_at``):
    kept billing records (invoices, the subscription projection) still name it."""

    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The billing contact lives in the billing profile (`db.invoice_models.BillingProfileRow`).
    spaces: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = _ts()


class MemberRow(Base):
    """A member; a revert suspends (never erases) so that reactivation can restore them."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        # A paid seat is a (type, cycle) pair or nothing.
        CheckConstraint("(seat_type IS NULL) = (seat_cycle IS NULL)", name="seat"),
    )

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(40))
    # When the CURRENT role was granted: the member kept at a revert is the earliest admin.
    role_granted_at: Mapped[datetime | None] = _ts()
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    email: Mapped[str | None] = mapped_column(String(320))
    seat_type: Mapped[str | None] = mapped_column(String(60))
    seat_cycle: Mapped[str | None] = mapped_column(String(10))
    suspended_at: Mapped[datetime | None] = _ts()


class ConnectionRow(Base):
    """A connector. Deleted connections keep their row (status) but lose their documents."""

    __tablename__ = "connections"
    __table_args__ = (CheckConstraint("status IN ('active', 'deleted')", name="status"),)

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), server_default=text("'generic'"))
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    deleted_at: Mapped[datetime | None] = _ts()


class DataSourceRow(Base):
    """A data source; ``bytes`` is its documents' combined size, the revert's 50 MB test."""

    __tablename__ = "data_sources"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'deleted')", name="status"),
        CheckConstraint("bytes >= 0", name="bytes"),
    )

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    # Set by a revert, cleared by a reactivation, kept after the deletion as its record.
    deletion_scheduled_at: Mapped[datetime | None] = _ts()
    deleted_at: Mapped[datetime | None] = _ts()


class DocumentRow(Base):
    """A document synced from a connection, or stored in a data source (exactly one)."""

    __tablename__ = "synced_documents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "connection_id"],
            ["connections.workspace_id", "connections.id"],
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "data_source_id"],
            ["data_sources.workspace_id", "data_sources.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("(connection_id IS NULL) <> (data_source_id IS NULL)", name="one_origin"),
        CheckConstraint("bytes >= 0", name="bytes"),
        Index("ix_synced_documents_connection", "workspace_id", "connection_id"),
        Index("ix_synced_documents_data_source", "workspace_id", "data_source_id"),
    )

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    connection_id: Mapped[str | None] = mapped_column(String(200))
    data_source_id: Mapped[str | None] = mapped_column(String(200))
    bytes: Mapped[int] = mapped_column(BigInteger)


class AgentRow(Base):
    """A custom agent; a revert deactivates it, a reactivation brings it back."""

    __tablename__ = "agents"
    __table_args__ = (CheckConstraint("status IN ('active', 'deactivated')", name="status"),)

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), server_default=text("'active'"))
    deactivated_at: Mapped[datetime | None] = _ts()


class SlackBotRow(Base):
    """The workspace's Slack bot installation; removing the bot deletes the row."""

    __tablename__ = "slack_bots"

    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk(), primary_key=True)
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SeatLedgerRow(Base):
    """Insert-only: one seat assigned (+1) or released (-1); ``entry_key`` makes it once."""

    __tablename__ = "seat_ledger"
    __table_args__ = (
        UniqueConstraint("workspace_id", "entry_key"),
        CheckConstraint("quantity IN (1, -1)", name="quantity"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64), _workspace_fk())
    entry_key: Mapped[str] = mapped_column(String(300))
    user_id: Mapped[str] = mapped_column(String(200))
    seat_type: Mapped[str] = mapped_column(String(60))
    cycle: Mapped[str] = mapped_column(String(10))
    quantity: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[str] = mapped_column(String(60))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

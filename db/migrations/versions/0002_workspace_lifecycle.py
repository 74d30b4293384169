"""Workspace lifecycle: workspaces and their data, seat ledger, subscription record tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Constraint names are spelled out as `db.base.NAMING_CONVENTION` generates them for the
models (`db.workspace_models`, `db.subscription_models`); a test compares this schema
with the models after upgrade. Names are wrapped in ``op.f()`` (final): Alembic applies
the target metadata's convention to op directives too, and would turn ``ck_members_seat``
into ``ck_members_ck_members_seat``.
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _tz(name: str, nullable: bool = True, now: bool = False) -> "sa.Column[datetime]":
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if now else None,
    )


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"], ["workspaces.id"], name=op.f(f"fk_{table}_workspace_id_workspaces"), ondelete="CASCADE"
    )


def _status(table: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"status IN ({allowed})", name=op.f(f"ck_{table}_status"))


def _workspace_tables() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("billing_contact_email", sa.String(320), nullable=True),
        sa.Column("spaces", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _tz("created_at", nullable=False, now=True),
        _tz("deleted_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "members",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        _tz("role_granted_at"),
        sa.Column("status", sa.String(20), server_default=sa.text("'active'"), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("seat_type", sa.String(60), nullable=True),
        sa.Column("seat_cycle", sa.String(10), nullable=True),
        _tz("suspended_at"),
        sa.PrimaryKeyConstraint("workspace_id", "user_id", name=op.f("pk_members")),
        _status("members", "active", "suspended"),
        sa.CheckConstraint("(seat_type IS NULL) = (seat_cycle IS NULL)", name=op.f("ck_members_seat")),
        _workspace_fk("members"),
    )
    op.create_table(
        "connections",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), server_default=sa.text("'generic'"), nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'active'"), nullable=False),
        _tz("deleted_at"),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_connections")),
        _status("connections", "active", "deleted"),
        _workspace_fk("connections"),
    )
    op.create_table(
        "data_sources",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'active'"), nullable=False),
        _tz("deletion_scheduled_at"),
        _tz("deleted_at"),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_data_sources")),
        _status("data_sources", "active", "deleted"),
        sa.CheckConstraint("bytes >= 0", name=op.f("ck_data_sources_bytes")),
        _workspace_fk("data_sources"),
    )
    op.create_table(
        "synced_documents",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("connection_id", sa.String(200), nullable=True),
        sa.Column("data_source_id", sa.String(200), nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_synced_documents")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "connection_id"],
            ["connections.workspace_id", "connections.id"],
            name=op.f("fk_synced_documents_workspace_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "data_source_id"],
            ["data_sources.workspace_id", "data_sources.id"],
            name=op.f("fk_synced_documents_workspace_id_data_sources"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "(connection_id IS NULL) <> (data_source_id IS NULL)", name=op.f("ck_synced_documents_one_origin")
        ),
        sa.CheckConstraint("bytes >= 0", name=op.f("ck_synced_documents_bytes")),
        _workspace_fk("synced_documents"),
    )
    op.create_index(op.f("ix_synced_documents_connection"), "synced_documents", ["workspace_id", "connection_id"])
    op.create_index(op.f("ix_synced_documents_data_source"), "synced_documents", ["workspace_id", "data_source_id"])
    op.create_table(
        "agents",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), server_default=sa.text("'active'"), nullable=False),
        _tz("deactivated_at"),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_agents")),
        _status("agents", "active", "deactivated"),
        _workspace_fk("agents"),
    )
    op.create_table(
        "slack_bots",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        _tz("installed_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_slack_bots")),
        _workspace_fk("slack_bots"),
    )
    op.create_table(
        "seat_ledger",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("entry_key", sa.String(300), nullable=False),
        sa.Column("user_id", sa.String(200), nullable=False),
        sa.Column("seat_type", sa.String(60), nullable=False),
        sa.Column("cycle", sa.String(10), nullable=False),
        sa.Column("quantity", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.String(60), nullable=False),
        _tz("at", nullable=False),
        _tz("recorded_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seat_ledger")),
        sa.UniqueConstraint("workspace_id", "entry_key", name=op.f("uq_seat_ledger_workspace_id")),
        sa.CheckConstraint("quantity IN (1, -1)", name=op.f("ck_seat_ledger_quantity")),
        _workspace_fk("seat_ledger"),
    )


def _record_tables() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("catalog", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("plan", sa.String(60), nullable=True),
        sa.Column("paid_seats", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _tz("period_start"),
        _tz("period_end"),
        _tz("trial_ends_at"),
        _tz("cancel_at"),
        sa.Column("pending_change", JSONB(), nullable=True),
        sa.Column("credit_balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        _tz("updated_at", nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_status"), "subscriptions", ["status"])
    op.create_table(
        "subscription_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        _tz("at", nullable=False),
        sa.Column("event", sa.String(60), nullable=False),
        sa.Column("data", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("dedupe_key", sa.String(300), nullable=False),
        _tz("recorded_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_events")),
        sa.UniqueConstraint("workspace_id", "dedupe_key", name=op.f("uq_subscription_events_workspace_id")),
    )
    op.create_index(op.f("ix_subscription_events_workspace_id_at"), "subscription_events", ["workspace_id", "at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(200), nullable=False),
        _tz("at", nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", JSONB(), nullable=True),
        sa.Column("after", JSONB(), nullable=True),
        _tz("recorded_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("workspace_id", "request_id", name=op.f("uq_audit_log_workspace_id")),
    )
    op.create_table(
        "email_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("template", sa.String(60), nullable=False),
        sa.Column("to_address", sa.String(320), nullable=True),
        sa.Column("data", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        _tz("created_at", nullable=False),
        _tz("sent_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_email_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_email_outbox_workspace_id"), "email_outbox", ["workspace_id"])


def upgrade() -> None:
    _workspace_tables()
    _record_tables()


def downgrade() -> None:
    for table in (
        "email_outbox",
        "audit_log",
        "subscription_events",
        "subscriptions",
        "seat_ledger",
        "slack_bots",
        "agents",
        "synced_documents",
        "data_sources",
        "connections",
        "members",
        "workspaces",
    ):
        op.drop_table(table)

"""The outbound event log (transactional outbox of events for consumers)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

Append-only: every decision appends its events in its own transaction. ``seq`` is the
global cursor, ``workspace_seq`` each workspace's gapless stream, ``source_key`` what makes
a retried write append nothing.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("workspace_seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("api_version", sa.String(20), nullable=False),
        sa.Column("source_key", sa.String(300), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("workspace_id", "source_key", name="uq_events_workspace_source_key"),
        sa.UniqueConstraint("workspace_id", "workspace_seq", name="uq_events_workspace_seq"),
    )
    op.create_index("ix_events_type_seq", "events", ["type", "seq"])


def downgrade() -> None:
    op.drop_index("ix_events_type_seq", "events")
    op.drop_table("events")

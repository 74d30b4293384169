"""Usage events (credits computed at ingestion)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_events",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("serverless_minutes", sa.BigInteger(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "event_id", name=op.f("pk_usage_events")),
    )
    op.create_index(op.f("ix_usage_events_workspace_at"), "usage_events", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_events_workspace_at"), table_name="usage_events")
    op.drop_table("usage_events")

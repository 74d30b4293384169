"""Daily usage roll-up: usage_daily, usage_rollups, a BRIN index on usage_events.received_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Mirrors `db.rollup_models`; names are spelled as `db.base.NAMING_CONVENTION` generates them
and wrapped in ``op.f()`` so Alembic does not apply the convention a second time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("serverless_minutes", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day", name=op.f("pk_usage_daily")),
    )
    op.create_table(
        "usage_rollups",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_rollups")),
    )
    op.create_index(op.f("ix_usage_rollups_started_at"), "usage_rollups", ["started_at"])
    op.create_index(
        op.f("ix_usage_events_received_at"), "usage_events", ["received_at"], postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_usage_events_received_at"), table_name="usage_events")
    op.drop_index(op.f("ix_usage_rollups_started_at"), table_name="usage_rollups")
    op.drop_table("usage_rollups")
    op.drop_table("usage_daily")

"""The entitlements projection (issue 15), written with every decision record

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04

One row per workspace. Workspaces that exist before this revision get theirs at their next
decision (any command or clock event); until then their entitlements read as not found.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entitlements",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("catalog", sa.String(40), nullable=False),
        sa.Column("plan", sa.String(60), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("features", postgresql.JSONB(), nullable=False),
        sa.Column("max_members", sa.Integer(), nullable=True),
        sa.Column("max_paid_seats", sa.Integer(), nullable=True),
        sa.Column("max_connectors", sa.Integer(), nullable=True),
        sa.Column("max_spaces", sa.Integer(), nullable=True),
        sa.Column("members_used", sa.Integer(), nullable=False),
        sa.Column("paid_seats_used", sa.Integer(), nullable=False),
        sa.Column("credits_included", sa.BigInteger(), nullable=True),
        sa.Column("credits_window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("credits_window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", name="pk_entitlements"),
    )


def downgrade() -> None:
    op.drop_table("entitlements")

"""Invoice lines keep what they charge: item kind, code and cycle

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

A line was known only by its description, which two seat types may share; the push to
Stripe needs the seat type or plan code for the invoice item's metadata. Lines posted
before keep null items (their text is all that was recorded).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoice_lines", sa.Column("item_kind", sa.String(40), nullable=True))
    op.add_column("invoice_lines", sa.Column("item_code", sa.String(100), nullable=True))
    op.add_column("invoice_lines", sa.Column("item_cycle", sa.String(10), nullable=True))


def downgrade() -> None:
    op.drop_column("invoice_lines", "item_cycle")
    op.drop_column("invoice_lines", "item_code")
    op.drop_column("invoice_lines", "item_kind")

"""The e-mail relay's bookkeeping on the outbox (attempts, backoff, permanent failures)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

``sent_at`` already existed; the relay adds how often it tried, when it may try again, the
last SMTP error, when a refusal became final, and who the message went to. The partial
index holds only the rows still to send, so the relay's scan stays small.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "email_outbox", sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.add_column("email_outbox", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_outbox", sa.Column("last_error", sa.Text(), nullable=True))
    op.add_column("email_outbox", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("email_outbox", sa.Column("recipients", postgresql.JSONB(), nullable=True))
    op.create_index(
        "ix_email_outbox_due",
        "email_outbox",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_email_outbox_due", "email_outbox")
    for column in ("recipients", "failed_at", "last_error", "next_attempt_at", "attempts"):
        op.drop_column("email_outbox", column)

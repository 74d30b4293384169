"""An index of the Stripe events still to apply (issue 18)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

The re-drive (`services.invoices`) looks every minute for stored events still
``received``, oldest first; without an index that is a scan of every event ever received.
A partial index holds only the pending ones, so it stays small however long the history.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_stripe_events_pending",
        "stripe_events",
        ["received_at"],
        postgresql_where=sa.text("status = 'received'"),
    )


def downgrade() -> None:
    op.drop_index("ix_stripe_events_pending", table_name="stripe_events")

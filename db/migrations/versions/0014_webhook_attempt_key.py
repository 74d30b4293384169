"""Which activity execution logged a webhook delivery attempt (issue 18)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A worker killed after a delivery attempt was logged and before Temporal heard of it retries
the activity; the retry finds its own row by ``activity_key`` (the workflow run and activity
id, the same on every retry of one execution and new for a replay's) and answers the logged
outcome instead of sending the event again. Rows logged before have none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("activity_key", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_deliveries", "activity_key")

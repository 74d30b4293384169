"""The billing contact has one home: billing_profiles.billing_email

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

A contact given at registration lived in ``workspaces.billing_contact_email`` while the
billing details (and their PUT) used ``billing_profiles.billing_email``: e-mail went to the
first, the overview showed the second. The registration's contact moves into the profile
(where one was set through the billing details, that one is kept), then the column goes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        INSERT INTO billing_profiles (workspace_id, billing_email)
        SELECT id, billing_contact_email FROM workspaces WHERE billing_contact_email IS NOT NULL
        ON CONFLICT (workspace_id) DO UPDATE
        SET billing_email = COALESCE(billing_profiles.billing_email, EXCLUDED.billing_email)
        """
    )
    op.drop_column("workspaces", "billing_contact_email")


def downgrade() -> None:
    op.add_column("workspaces", sa.Column("billing_contact_email", sa.String(320), nullable=True))
    op.execute(
        """
        UPDATE workspaces SET billing_contact_email = p.billing_email
        FROM billing_profiles p WHERE p.workspace_id = workspaces.id
        """
    )

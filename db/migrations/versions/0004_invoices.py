"""Invoices and collection: invoices, invoice lines, Stripe events, billing profiles, tax ids

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

Mirrors `db.invoice_models`; names are spelled as `db.base.NAMING_CONVENTION` generates them
and wrapped in ``op.f()`` so Alembic does not apply the convention a second time. No
foreign key to ``workspaces``: billing records outlive "delete everything".
"""

from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _tz(name: str, nullable: bool = True, now: bool = False) -> "sa.Column[datetime]":
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        nullable=nullable,
        server_default=sa.func.now() if now else None,
    )


def _status(table: str, *values: str) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"status IN ({allowed})", name=op.f(f"ck_{table}_status"))


def upgrade() -> None:
    op.create_table(
        "invoices",
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        _tz("issued_at", nullable=False),
        _tz("period_start", nullable=False),
        _tz("period_end", nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(10), server_default=sa.text("'unpaid'"), nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("stripe_invoice_id", sa.String(255), nullable=True),
        sa.Column("stripe_status", sa.String(20), nullable=True),
        sa.Column("hosted_invoice_url", sa.Text(), nullable=True),
        sa.Column("invoice_pdf", sa.Text(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _tz("paid_at"),
        _tz("voided_at"),
        _tz("created_at", nullable=False, now=True),
        _tz("updated_at", nullable=False, now=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_invoices")),
        sa.UniqueConstraint("stripe_invoice_id", name=op.f("uq_invoices_stripe_invoice_id")),
        _status("invoices", "unpaid", "paid", "overdue", "void"),
    )
    op.create_index(op.f("ix_invoices_workspace_issued"), "invoices", ["workspace_id", "issued_at"])
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_number", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        _tz("period_start", nullable=False),
        _tz("period_end", nullable=False),
        sa.Column("stripe_invoice_item_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("invoice_number", "position", name=op.f("pk_invoice_lines")),
        sa.ForeignKeyConstraint(
            ["invoice_number"],
            ["invoices.number"],
            name=op.f("fk_invoice_lines_invoice_number_invoices"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        _tz("received_at", nullable=False, now=True),
        sa.Column("status", sa.String(10), server_default=sa.text("'received'"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        _status("stripe_events", "received", "applied", "ignored", "failed"),
    )
    op.create_table(
        "billing_profiles",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("stripe_customer_id", sa.String(255), nullable=True),
        sa.Column("billing_email", sa.String(320), nullable=True),
        sa.Column("company_name", sa.String(200), nullable=True),
        sa.Column("purchasing_as_business", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("card_brand", sa.String(20), nullable=True),
        sa.Column("card_last4", sa.String(4), nullable=True),
        sa.Column("card_exp_month", sa.SmallInteger(), nullable=True),
        sa.Column("card_exp_year", sa.SmallInteger(), nullable=True),
        sa.Column("default_payment_method", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_billing_profiles")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_billing_profiles_stripe_customer_id")),
    )
    op.create_table(
        "tax_ids",
        sa.Column("stripe_tax_id", sa.String(255), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=True),
        _tz("created_at", nullable=False),
        sa.PrimaryKeyConstraint("stripe_tax_id", name=op.f("pk_tax_ids")),
    )
    op.create_index(op.f("ix_tax_ids_workspace_id"), "tax_ids", ["workspace_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tax_ids_workspace_id"), table_name="tax_ids")
    op.drop_table("tax_ids")
    op.drop_table("billing_profiles")
    op.drop_table("stripe_events")
    op.drop_table("invoice_lines")
    op.drop_index(op.f("ix_invoices_workspace_issued"), table_name="invoices")
    op.drop_table("invoices")

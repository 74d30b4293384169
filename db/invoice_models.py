"""Invoices, their lines, Stripe webhook events and billing details (SPEC §3).

Our database is the record of invoices; Stripe is where they are collected. No foreign
key to ``workspaces``: invoices and billing records are kept for legal reasons after
"delete everything", and must not depend on what the workspace tables still hold.
Business instants (``issued_at``, ``paid_at``, ``voided_at`` ...) are passed in by the
activities; only bookkeeping columns (``created_at``, ``received_at``) default to now().
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


def _ts() -> Mapped[datetime | None]:
    return mapped_column(DateTime(timezone=True), nullable=True)


class InvoiceRow(Base):
    """One posted invoice. The Stripe columns fill in step by step as it is pushed, so a
    retried push continues where the previous attempt stopped."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN ('unpaid', 'paid', 'overdue', 'void')", name="status"),
        Index("ix_invoices_workspace_issued", "workspace_id", "issued_at"),
    )

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), server_default=text("'unpaid'"))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Stripe's own status (draft/open/paid/void/uncollectible) as last seen: "open" or later
    # means finalized, which the push needs to know without asking Stripe.
    stripe_status: Mapped[str | None] = mapped_column(String(20))
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    invoice_pdf: Mapped[str | None] = mapped_column(Text)
    attempt_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime | None] = _ts()
    voided_at: Mapped[datetime | None] = _ts()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class InvoiceLineRow(Base):
    """One line of an invoice, in the order the engine posted them (``position`` from 0)."""

    __tablename__ = "invoice_lines"

    invoice_number: Mapped[str] = mapped_column(
        String(64), ForeignKey("invoices.number", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    period_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # What the line charges (`billing.invoicing.invoices.LineItem`); null on lines posted before
    # lines carried it (migration 0007).
    item_kind: Mapped[str | None] = mapped_column(String(40))
    item_code: Mapped[str | None] = mapped_column(String(100))
    item_cycle: Mapped[str | None] = mapped_column(String(10))
    stripe_invoice_item_id: Mapped[str | None] = mapped_column(String(255))


class StripeEventRow(Base):
    """A verified Stripe webhook event, stored before it is acknowledged (insert-only;
    the id is the key, so a redelivered event is recognised and ignored)."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        CheckConstraint("status IN ('received', 'applied', 'ignored', 'failed')", name="status"),
        # What the re-drive scans every minute: only the events not yet applied, oldest first
        # (a tiny index however many events were ever received).
        Index("ix_stripe_events_pending", "received_at", postgresql_where=text("status = 'received'")),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status: Mapped[str] = mapped_column(String(10), server_default=text("'received'"))
    error: Mapped[str | None] = mapped_column(Text)


class BillingProfileRow(Base):
    """A workspace's billing details and its Stripe customer. The card is kept as a summary
    only (brand, last 4, expiry); the card itself stays in Stripe."""

    __tablename__ = "billing_profiles"

    workspace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    billing_email: Mapped[str | None] = mapped_column(String(320))
    company_name: Mapped[str | None] = mapped_column(String(200))
    purchasing_as_business: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    country: Mapped[str | None] = mapped_column(String(2))
    card_brand: Mapped[str | None] = mapped_column(String(20))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_exp_month: Mapped[int | None] = mapped_column(SmallInteger)
    card_exp_year: Mapped[int | None] = mapped_column(SmallInteger)
    default_payment_method: Mapped[str | None] = mapped_column(String(255))


class TaxIdRow(Base):
    """A customer tax id as Stripe holds it (this table mirrors Stripe's list)."""

    __tablename__ = "tax_ids"
    __table_args__ = (Index("ix_tax_ids_workspace_id", "workspace_id"),)

    stripe_tax_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

"""The Stripe objects as Tenure sees them: what the payment port takes and returns.

Pure data (no I/O, no SDK types). The Stripe adapter maps SDK objects into the ``Stripe*``
models here, in one place, so nothing outside it depends on Stripe's response shapes.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from billing.usage import UtcDatetime


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class CustomerDetails(_Model):
    """What Tenure tells Stripe about a workspace's customer."""

    workspace_id: str
    email: str | None = None
    name: str | None = None
    business_name: str | None = None
    country: str | None = None


class StripeInvoice(_Model):
    """A Stripe invoice: only the fields the engine reads (endive names)."""

    id: str
    customer: str
    status: str  # draft | open | paid | void | uncollectible
    number: str | None = None
    currency: str
    total: int
    amount_remaining: int
    attempt_count: int = 0
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    paid_at: UtcDatetime | None = None
    voided_at: UtcDatetime | None = None
    metadata: dict[str, str] = Field(default_factory=dict)


class NewStripeInvoice(_Model):
    """A draft invoice to create for an engine invoice."""

    number: str
    workspace_id: str
    customer_id: str
    currency: str


class NewStripeInvoiceItem(_Model):
    """One engine invoice line, added to the Stripe draft ``invoice_id``."""

    number: str
    position: int
    customer_id: str
    invoice_id: str
    amount: int
    currency: str
    description: str
    period_start: UtcDatetime
    period_end: UtcDatetime
    # Sent only when ``quantity * unit_amount == amount``: Stripe computes the amount from
    # them, and the invoice must total exactly what the engine posted.
    quantity: int | None = None
    unit_amount: int | None = None
    # What the line charges (`billing.invoicing.invoices.LineItem`), kept in Stripe's metadata.
    item_kind: str | None = None
    item_code: str | None = None
    item_cycle: str | None = None


class CardSummary(_Model):
    """All Tenure keeps of a card (SPEC §3): the rest stays in Stripe."""

    payment_method_id: str
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


class StripeSetupIntent(_Model):
    id: str
    status: str
    client_secret: str | None
    customer: str | None
    payment_method: str | None


class StripeTaxId(_Model):
    id: str
    type: str
    value: str
    country: str | None
    created: UtcDatetime

"""Messages of the invoice and payment activities, and the Stripe objects as Tenure sees them.

Pure data (no I/O, no SDK types): the workflow may import this module. The Stripe adapter
maps SDK objects into the ``Stripe*`` models here, in one place, so nothing outside it
depends on Stripe's response shapes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from billing.invoicing.invoices import InvoiceDraft, InvoiceStatus
from billing.usage import UtcDatetime


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- Stripe objects, as the adapter returns them ------------------------------------------


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


# --- activity messages ------------------------------------------------------------------


class PersistInvoice(_Model):
    """Record a posted invoice (the `PostInvoice` effect) for a workspace."""

    workspace_id: str
    draft: InvoiceDraft


class InvoiceView(_Model):
    """An invoice as recorded (what every invoice activity returns)."""

    number: str
    workspace_id: str
    status: InvoiceStatus
    total: int
    currency: str
    stripe_invoice_id: str | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    attempt_count: int = 0
    last_error: str | None = None
    paid_at: UtcDatetime | None = None
    voided_at: UtcDatetime | None = None


class CollectInvoice(_Model):
    """Charge an invoice off-session; ``attempt`` (1, 2, ...) names the idempotency key, so a
    retried activity replays its attempt and a dunning retry makes a new one."""

    number: str
    attempt: int = Field(ge=1)
    at: UtcDatetime  # the workflow's instant: paid_at when Stripe gives none


CollectOutcome = Literal["paid", "declined", "void"]


class CollectResult(_Model):
    """What a collection attempt did. A decline is a result, not an error: the workflow
    schedules dunning on it."""

    number: str
    outcome: CollectOutcome
    code: str | None = None  # decline code (``generic_decline``) or Stripe error code
    message: str | None = None
    attempt_count: int = 0


class MarkInvoice(_Model):
    """Status bookkeeping decided by the workflow (``overdue`` after the due instant, ...)."""

    number: str
    status: InvoiceStatus
    at: UtcDatetime


class VoidInvoice(_Model):
    number: str
    at: UtcDatetime


class StripeEventRecord(_Model):
    """A verified webhook event, as stored in ``stripe_events``."""

    id: str = Field(min_length=1)
    type: str
    payload: dict[str, JsonValue]


class BillingDetails(_Model):
    """Billing contact and company of a workspace (SPEC §3 billing details)."""

    workspace_id: str
    billing_email: str | None = None
    company_name: str | None = None
    purchasing_as_business: bool = False
    country: str | None = Field(default=None, min_length=2, max_length=2)


class StartCardSetup(_Model):
    """Begin a card change; ``request_id`` keys the SetupIntent (one per request)."""

    workspace_id: str
    request_id: str = Field(min_length=1)


class CardSetupStarted(_Model):
    setup_intent_id: str
    client_secret: str


class FinishCardSetup(_Model):
    workspace_id: str
    setup_intent_id: str


class AddTaxId(_Model):
    workspace_id: str
    request_id: str = Field(min_length=1)  # keys the Stripe write
    type: str  # eu_vat, gb_vat, au_abn, ...
    value: str


class RemoveTaxId(_Model):
    workspace_id: str
    stripe_tax_id: str


class TaxIdView(_Model):
    stripe_tax_id: str
    type: str
    value: str
    country: str | None
    created_at: UtcDatetime


# --- status rules -------------------------------------------------------------------------

_MOVES: frozenset[tuple[InvoiceStatus, InvoiceStatus]] = frozenset(
    {("unpaid", "overdue"), ("unpaid", "paid"), ("overdue", "paid"), ("unpaid", "void"), ("overdue", "void")}
)


def moved(ours: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus:
    """The status after asking for ``target``: paid and void are final, overdue only follows
    unpaid; anything else leaves ``ours`` (so a replayed or late request changes nothing)."""
    return target if (ours, target) in _MOVES else ours


def reconciled(ours: InvoiceStatus, stripe_status: str) -> InvoiceStatus:
    """Our status given Stripe's (the answer to webhooks arriving out of order).

    Stripe's ``paid`` always wins over unpaid/overdue: money was collected. ``void`` ends an
    unpaid invoice. ``draft``/``open``/``uncollectible`` say nothing about due dates, so
    unpaid vs overdue stays ours.
    """
    if stripe_status == "paid":
        return moved(ours, "paid")
    if stripe_status == "void":
        return moved(ours, "void")
    return ours

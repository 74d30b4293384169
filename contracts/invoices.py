"""Messages of the invoice workflow and its activities: record, collect, mark, void."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.invoicing.invoices import InvoiceDraft, InvoiceStatus
from billing.usage import UtcDatetime

# The invoice workflow's type and id: `post_invoice` starts it by these, edges signal it.
INVOICE_WORKFLOW = "Invoice"


def invoice_workflow_id(number: str) -> str:
    """The one id of an invoice's workflow."""
    return f"invoice-{number}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


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
    # Where the customer can pay (or authenticate, for ``authentication_required``).
    hosted_invoice_url: str | None = None


class MarkInvoice(_Model):
    """Status bookkeeping decided by the workflow (``overdue`` after the due instant, ...)."""

    number: str
    status: InvoiceStatus
    at: UtcDatetime


class VoidInvoice(_Model):
    number: str
    at: UtcDatetime


class InvoiceJob(BaseModel):
    """What the subscription hands over when it posts an invoice (`post_invoice`'s input and
    the invoice workflow's).

    The dunning instants come from `billing.dunning_schedule` / `billing.overdue_at`: the
    rule is the catalog's, the invoice workflow only keeps the appointments.
    """

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    subscription_workflow_id: str
    draft: InvoiceDraft
    retry_at: tuple[UtcDatetime, ...]  # billing.dunning_schedule: the catalog decides
    overdue_at: UtcDatetime  # billing.overdue_at
    stripe_task_queue: str = "tenure-stripe"
    clock_offset_seconds: int = 0
    # Set by `post_invoice`, which records the invoice before starting its workflow (jobs of
    # workflows started before that did not: those record it as their first activity).
    persisted: bool = False

"""What the subscription workflow receives and carries across continue-as-new."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from billing.catalog import Catalog
from billing.commands import Command
from billing.preview import Preview
from billing.state import BillingState, Member
from billing.usage import UtcDatetime
from billing.workspace import RevertPlan

FACTS_REMEMBERED = 500


def workflow_id(workspace_id: str) -> str:
    """The one id of a workspace's subscription workflow."""
    return f"subscription-{workspace_id}"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubscriptionStart(_Message):
    """The workflow's input; after continue-as-new it carries the whole state.

    Attributes:
        workspace_id: the workspace.
        catalog: the catalog this subscription was created under (a value: a later
            catalog file change does not silently reprice live subscriptions).
        members: the roster at creation (ignored once ``state`` exists).
        state: None on the very first run.
        last_revert: the plan of the last revert to free (reactivation undoes it).
        seen_facts: source ids of invoice facts already applied (bounded window).
        version: projection version, strictly increasing across runs.
        stripe_task_queue: where this deployment's Stripe activities run (invoices use it).
        clock_offset_seconds: added to the server's clock to get the subscription's time.
            Always 0 in production; `tenure simulate` and tests set it so a scenario can
            start on any date (Temporal's test server only moves forward from today).
    """

    workspace_id: str
    catalog: Catalog
    members: dict[str, Member] = Field(default_factory=dict)
    state: BillingState | None = None
    last_revert: RevertPlan | None = None
    seen_facts: tuple[str, ...] = ()
    version: int = 0
    stripe_task_queue: str = "tenure-stripe"
    clock_offset_seconds: int = 0


class CancellationRequest(_Message):
    """Support staff ask to cancel (a Signal: staff tools do not wait for the workflow)."""

    request_id: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    actor: str = Field(min_length=1)


class InvoiceFact(_Message):
    """A collection fact about an invoice; ``source_id`` (e.g. a Stripe event id) dedupes it."""

    source_id: str = Field(min_length=1)
    number: str
    event: Literal["paid", "payment_failed", "overdue", "voided", "final_failure"]
    # With ``payment_failed``: the decline code and the invoice's hosted page.
    code: str | None = None
    action_url: str | None = None


class PreviewRequest(_Message):
    """Quote a command without applying it.

    ``at`` is the caller's clock: inside a query the workflow's clock is the time of its
    last workflow task, which is stale for an idle subscription.
    """

    command: Command
    at: UtcDatetime | None = None


class Refusal(_Message):
    """A domain refusal: its stable code, a sentence, structured details."""

    code: str
    message: str
    details: dict[str, JsonValue] = {}


class QuoteAnswer(_Message):
    """The `quote` query's answer: the preview, or why the command would be refused.

    A failed query reaches the client as a bare message (no error type), so the domain code
    travels in the answer instead.
    """

    preview: Preview | None = None
    refusal: Refusal | None = None

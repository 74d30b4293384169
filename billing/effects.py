"""Effects: what the workflow must do after a decision (post an invoice, send an email...).

The domain never performs them; it returns them in order. Discriminated on ``kind``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.invoicing.invoices import InvoiceDraft
from billing.usage import UtcDatetime

EventData = dict[str, str | int | None]


class _Effect(BaseModel):
    model_config = ConfigDict(frozen=True)


class PostInvoice(_Effect):
    """Record the invoice and collect it (Stripe), idempotently by ``invoice.number``."""

    kind: Literal["post_invoice"] = "post_invoice"
    invoice: InvoiceDraft


class RevertWorkspace(_Effect):
    """Apply the free tier to the workspace's data (`billing.retention.plan_revert`).

    The activity that applies the plan records the per-item timeline events
    (member_suspended, connection_deleted, agent_deactivated, data_source_deletion_warned).

    ``kept_member``/``suspended_members`` are the domain's own decision over its roster
    (earliest-granted admin kept); the workflow's snapshot-based plan must agree.
    """

    kind: Literal["revert_workspace"] = "revert_workspace"
    at: UtcDatetime  # the instant it is due (a deadline), not when a worker got to it
    reason: str
    kept_member: str | None = None
    suspended_members: tuple[str, ...] = ()


class ReactivateWorkspace(_Effect):
    """Restore suspended members, agents and data; cancel pending data-source deletions."""

    kind: Literal["reactivate_workspace"] = "reactivate_workspace"
    at: UtcDatetime  # the instant it is due (a deadline), not when a worker got to it
    restored_members: tuple[str, ...] = ()
    cancelled_deletions: tuple[str, ...] = ()
    # From the state (None: a state from before it remembered them; the stored plan decides).
    restored_agents: tuple[str, ...] | None = None


class DeleteWorkspace(_Effect):
    """Delete all workspace data except invoices and billing records."""

    kind: Literal["delete_workspace"] = "delete_workspace"
    at: UtcDatetime  # the instant it is due (a deadline), not when a worker got to it


class DeleteDataSource(_Effect):
    """A scheduled data-source deletion is due."""

    kind: Literal["delete_data_source"] = "delete_data_source"
    at: UtcDatetime  # the instant it is due (a deadline), not when a worker got to it
    data_source_id: str


class SendEmail(_Effect):
    """Email the workspace member(s) holding ``to_role`` (``billing_contact`` for billing)."""

    kind: Literal["send_email"] = "send_email"
    at: UtcDatetime  # the instant it is due (a deadline), not when a worker got to it
    template: str
    to_role: str
    data: EventData = Field(default_factory=dict)


class RecordEvent(_Effect):
    """A timeline entry (``subscription_events``)."""

    kind: Literal["record_event"] = "record_event"
    event: str
    at: UtcDatetime
    data: EventData = Field(default_factory=dict)


Effect = Annotated[
    PostInvoice
    | RevertWorkspace
    | ReactivateWorkspace
    | DeleteWorkspace
    | DeleteDataSource
    | SendEmail
    | RecordEvent,
    Field(discriminator="kind"),
]
"""Any effect, discriminated on ``kind``."""

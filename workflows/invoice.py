"""One workflow per posted invoice: record it, collect it through Stripe, dun it (SPEC §3).

Started by the subscription workflow with a parent-close policy of ABANDON, so it outlives
the subscription run's continue-as-new. It reports every collection fact back to the
subscription (`invoice_status` Signal, keyed by a source id), which decides what a fact
means (paid, past due, the catalog's final-failure rule).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from billing.invoicing.dunning import InvoiceEvent
    from billing.invoicing.invoices import InvoiceDraft
    from billing.payments import (
        CollectInvoice,
        CollectResult,
        InvoiceView,
        MarkInvoice,
        PersistInvoice,
        VoidInvoice,
    )
    from billing.usage import UtcDatetime
    from workflows.messages import InvoiceFact

# Stripe calls retry on outages (429/5xx/timeouts) for up to a day; declines and invalid
# requests are final at once.
STRIPE_TIMEOUT = timedelta(seconds=60)
STRIPE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[
        "card_declined",
        "stripe_invalid_request",
        "stripe_idempotency_conflict",
        "invoice_not_found",
    ],
)
DB_TIMEOUT = timedelta(seconds=30)
DB_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def invoice_workflow_id(number: str) -> str:
    """The one id of an invoice's workflow."""
    return f"invoice-{number}"


class InvoiceJob(BaseModel):
    """What the subscription hands over when it posts an invoice.

    The dunning instants come from `billing.dunning_schedule` / `billing.overdue_at`: the
    rule is the catalog's, this workflow only keeps the appointments.
    """

    model_config = ConfigDict(frozen=True)

    workspace_id: str
    subscription_workflow_id: str
    draft: InvoiceDraft
    retry_at: tuple[UtcDatetime, ...]  # billing.dunning_schedule: the catalog decides
    overdue_at: UtcDatetime  # billing.overdue_at
    stripe_task_queue: str = "tenure-stripe"
    clock_offset_seconds: int = 0


class StripeNotice(BaseModel):
    """A webhook said something about this invoice; the workflow re-reads it from Stripe."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(min_length=1)
    type: str


@workflow.defn(name="Invoice")
class InvoiceWorkflow:
    """Persist → collect → (dunning) → report, for one invoice."""

    @workflow.init
    def __init__(self, job: InvoiceJob) -> None:
        self._job = job
        self._offset = timedelta(seconds=job.clock_offset_seconds)
        self._retry_now = False
        self._void = False
        self._notices: list[StripeNotice] = []
        self._status = "unpaid"
        self._attempts = 0

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    @workflow.run
    async def run(self, job: InvoiceJob) -> str:
        """Return the invoice's final status: ``paid`` or ``void``."""
        draft = job.draft
        view = await self._db("persist_invoice", PersistInvoice(workspace_id=job.workspace_id, draft=draft))
        if view.status == "paid":  # a zero total: recorded as paid, nothing to charge
            await self._report("paid", "zero-total")
            return self._finish("paid")
        # Attempts at issue, then at the catalog's retry instants (decided by `billing`).
        schedule = [draft.issued_at, *job.retry_at]
        overdue_at = job.overdue_at
        overdue_marked = False
        while True:
            due = schedule[0] if schedule else None
            deadlines = [d for d in (due, None if overdue_marked else overdue_at) if d is not None]
            timeout = max(min(deadlines) - self._now(), timedelta(0)) if deadlines else None
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._retry_now or self._void or bool(self._notices), timeout=timeout
                )
            if self._void:
                await self._stripe("void_invoice", VoidInvoice(number=draft.number, at=self._now()))
                await self._report("voided", "void")
                return self._finish("void")
            if self._notices:
                notice = self._notices.pop(0)
                seen = await self._stripe("refresh_invoice", draft.number)
                if seen.status in {"paid", "void"}:
                    return await self._settled(seen.status, notice.event_id)
                continue
            if not overdue_marked and self._now() >= overdue_at:
                overdue = MarkInvoice(number=draft.number, status="overdue", at=overdue_at)
                await self._db("mark_invoice", overdue)
                self._status = "overdue"
                overdue_marked = True
            scheduled_now = due is not None and self._now() >= due
            if not (self._retry_now or scheduled_now):
                continue
            self._retry_now = False
            if scheduled_now:
                schedule.pop(0)
            result = await self._collect()
            if result.outcome in {"paid", "void"}:
                return await self._settled(result.outcome, f"attempt-{self._attempts}")
            await self._report("payment_failed", f"attempt-{self._attempts}")
            if scheduled_now and not schedule:
                # The last scheduled attempt failed: the catalog's final rule applies at
                # once; the invoice stays owed (a webhook, a new card or support settles it).
                await self._report("final_failure", "final")

    async def _settled(self, outcome: str, source: str) -> str:
        await self._report("paid" if outcome == "paid" else "voided", source)
        return self._finish(outcome)

    async def _collect(self) -> CollectResult:
        self._attempts += 1
        attempt = CollectInvoice(number=self._job.draft.number, attempt=self._attempts, at=self._now())
        result: CollectResult = await workflow.execute_activity(
            "collect_invoice",
            attempt,
            result_type=CollectResult,
            task_queue=self._job.stripe_task_queue,
            start_to_close_timeout=STRIPE_TIMEOUT,
            retry_policy=STRIPE_RETRY,
        )
        return result

    async def _stripe(self, name: str, argument: object) -> InvoiceView:
        view: InvoiceView = await workflow.execute_activity(
            name,
            argument,
            result_type=InvoiceView,
            task_queue=self._job.stripe_task_queue,
            start_to_close_timeout=STRIPE_TIMEOUT,
            retry_policy=STRIPE_RETRY,
        )
        return view

    async def _db(self, name: str, argument: object) -> InvoiceView:
        view: InvoiceView = await workflow.execute_activity(
            name, argument, result_type=InvoiceView, start_to_close_timeout=DB_TIMEOUT, retry_policy=DB_RETRY
        )
        return view

    async def _report(self, event: InvoiceEvent, source: str) -> None:
        fact = InvoiceFact(
            source_id=f"invoice:{self._job.draft.number}:{source}:{event}",
            number=self._job.draft.number,
            event=event,
        )
        handle = workflow.get_external_workflow_handle(self._job.subscription_workflow_id)
        await handle.signal("invoice_status", fact)

    def _finish(self, status: str) -> str:
        self._status = status
        return status

    @workflow.signal
    def stripe_notice(self, notice: StripeNotice) -> None:
        """A verified webhook about this invoice (the API sends it after storing the event)."""
        self._notices.append(notice)

    @workflow.signal
    def retry_now(self) -> None:
        """The card was updated during dunning: try again at once."""
        self._retry_now = True

    @workflow.signal
    def void(self) -> None:
        """Support voids the invoice: it will not be collected."""
        self._void = True

    @workflow.query
    def status(self) -> str:
        """``unpaid`` or ``overdue`` while being collected, then ``paid`` or ``void``."""
        return self._status

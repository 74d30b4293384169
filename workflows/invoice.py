"""One workflow per posted invoice: record it, collect it through Stripe, dun it (SPEC §3).

Started by the subscription workflow with a parent-close policy of ABANDON, so it outlives
the subscription run's continue-as-new. It reports every collection fact back to the
subscription (`invoice_status` Signal, keyed by a source id), which decides what a fact
means (paid, past due, the catalog's final-failure rule).

Since patch ``decline-codes``: a failure reports its decline code and the hosted invoice
page, and after one that only the customer can lift (`needs_customer_action`:
``authentication_required``) the scheduled attempts re-read the invoice instead of charging
the card again; a card update (``retry_now``) charges at once as before.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from billing.invoicing.dunning import InvoiceEvent, needs_customer_action
    from contracts import activities as refs
    from contracts.invoices import (
        INVOICE_WORKFLOW,
        CollectInvoice,
        CollectResult,
        InvoiceJob,
        MarkInvoice,
        PersistInvoice,
        VoidInvoice,
    )

    # Re-exported for the edges that address an invoice's workflow.
    from contracts.invoices import invoice_workflow_id as invoice_workflow_id
    from workflows import calls
    from workflows.messages import InvoiceFact


DECLINE_CODES_PATCH = "decline-codes"
# `post_invoice` records the invoice before starting this workflow (the job says so): no
# `persist_invoice` activity, one workflow task fewer per invoice.
PERSISTED_BY_POSTING_PATCH = "persisted-by-posting"

I = TypeVar("I")  # noqa: E741  # the conventional name of an input type
O = TypeVar("O")  # noqa: E741


class StripeNotice(BaseModel):
    """A webhook said something about this invoice; the workflow re-reads it from Stripe."""

    model_config = ConfigDict(frozen=True)

    event_id: str = Field(min_length=1)
    type: str


@workflow.defn(name=INVOICE_WORKFLOW)
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
        self._awaiting_customer = False

    def _now(self) -> datetime:
        return workflow.now() + self._offset

    @workflow.run
    async def run(self, job: InvoiceJob) -> str:
        """Return the invoice's final status: ``paid`` or ``void``."""
        draft = job.draft
        if job.persisted and workflow.patched(PERSISTED_BY_POSTING_PATCH):
            zero = draft.total == 0  # `persist_invoice` recorded it paid, nothing to charge
        else:
            view = await calls.run(
                refs.PERSIST_INVOICE, PersistInvoice(workspace_id=job.workspace_id, draft=draft)
            )
            zero = view.status == "paid"
        if zero:  # a zero total: recorded as paid, nothing to charge
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
                await self._stripe(refs.VOID_INVOICE, VoidInvoice(number=draft.number, at=self._now()))
                await self._report("voided", "void")
                return self._finish("void")
            if self._notices:
                notice = self._notices.pop(0)
                seen = await self._stripe(refs.REFRESH_INVOICE, draft.number)
                if seen.status in {"paid", "void"}:
                    return await self._settled(seen.status, notice.event_id)
                continue
            if not overdue_marked and self._now() >= overdue_at:
                overdue = MarkInvoice(number=draft.number, status="overdue", at=overdue_at)
                await calls.run(refs.MARK_INVOICE, overdue)
                self._status = "overdue"
                overdue_marked = True
            scheduled_now = due is not None and self._now() >= due
            if not (self._retry_now or scheduled_now):
                continue
            card_updated, self._retry_now = self._retry_now, False
            if scheduled_now:
                schedule.pop(0)
            if self._awaiting_customer and not card_updated:
                # Charging the same card again would fail the same way: look whether the
                # customer has paid on the hosted page (a webhook may have been lost).
                seen = await self._stripe(refs.REFRESH_INVOICE, draft.number)
                if seen.status in {"paid", "void"}:
                    return await self._settled(seen.status, f"refresh-{len(schedule)}")
            else:
                result = await self._collect()
                if result.outcome in {"paid", "void"}:
                    return await self._settled(result.outcome, f"attempt-{self._attempts}")
                await self._failed(result)
            if scheduled_now and not schedule:
                # The last scheduled attempt failed: the catalog's final rule applies at
                # once; the invoice stays owed (a webhook, a new card or support settles it).
                await self._report("final_failure", "final")

    async def _failed(self, result: CollectResult) -> None:
        source = f"attempt-{self._attempts}"
        if not workflow.patched(DECLINE_CODES_PATCH):
            await self._report("payment_failed", source)
            return
        self._awaiting_customer = needs_customer_action(result.code)
        await self._report("payment_failed", source, result.code, result.hosted_invoice_url)

    async def _settled(self, outcome: str, source: str) -> str:
        await self._report("paid" if outcome == "paid" else "voided", source)
        return self._finish(outcome)

    async def _collect(self) -> CollectResult:
        self._attempts += 1
        attempt = CollectInvoice(number=self._job.draft.number, attempt=self._attempts, at=self._now())
        return await self._stripe(refs.COLLECT_INVOICE, attempt)

    async def _stripe(self, ref: refs.ActivityRef[I, O], argument: I) -> O:
        return await calls.run(ref, argument, task_queue=self._job.stripe_task_queue)

    async def _report(
        self, event: InvoiceEvent, source: str, code: str | None = None, action_url: str | None = None
    ) -> None:
        fact = InvoiceFact(
            source_id=f"invoice:{self._job.draft.number}:{source}:{event}",
            number=self._job.draft.number,
            event=event,
            code=code,
            action_url=action_url,
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

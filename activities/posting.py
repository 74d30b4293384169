"""Posting an invoice: start its own workflow, exactly once.

The subscription workflow hands each posted invoice to an `InvoiceWorkflow` through this
activity rather than as a child workflow. The invoice must outlive the subscription's run
(continue-as-new at every period start, deletion) and report back by signal only, so the
parent/child link would buy nothing; and Temporal's time-skipping test server (which
`tenure simulate` and the tests run on) stops skipping time for children of a parent that
continued as new (temporalio/sdk-java#1540, #1618).
"""

from __future__ import annotations

from temporalio import activity
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.invoices import InvoiceActivities
from contracts import activities as refs
from contracts.invoices import INVOICE_WORKFLOW, InvoiceJob, PersistInvoice, invoice_workflow_id


class PostingActivities:
    """`post_invoice`, built with the invoice activities whose `persist_invoice` it runs."""

    def __init__(self, invoices: InvoiceActivities) -> None:
        self._invoices = invoices

    @activity.defn(name=refs.POST_INVOICE.name)
    async def post_invoice(self, job: InvoiceJob) -> bool:
        """Record the invoice, then start its workflow on the caller's task queue; False if
        it already was.

        Recording here (``persisted`` in the job) spares the invoice workflow its first
        activity and workflow task: a month-start storm is bound by workflow tasks. The
        record is written once by invoice number, so a retried activity writes nothing new.
        The workflow id is the invoice number and a closed one is never reused, so a retried
        activity (or a replayed subscription) can never collect an invoice twice.
        """
        return await self._post(job)

    @activity.defn(name=refs.POST_INVOICE_LOCAL.name)
    async def post_invoice_local(self, job: InvoiceJob) -> bool:
        """`post_invoice` as a local activity: one short transaction and one start, run
        inside the subscription's workflow task (a retried task posts again: idempotent)."""
        return await self._post(job)

    async def _post(self, job: InvoiceJob) -> bool:
        await self._invoices.persist_invoice(PersistInvoice(workspace_id=job.workspace_id, draft=job.draft))
        try:
            await activity.client().start_workflow(
                INVOICE_WORKFLOW,
                job.model_copy(update={"persisted": True}),
                id=invoice_workflow_id(job.draft.number),
                task_queue=activity.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary=f"Invoice {job.draft.number} of {job.workspace_id}",
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

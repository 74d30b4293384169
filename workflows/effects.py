"""Performing a decision's effects through activities (the workflow's only I/O).

The domain decided *what* happens; this module only maps each effect to the database
activity that makes it so, with arguments derived deterministically from the decision
(dedupe keys, instants), so a retried activity or a replayed workflow writes nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow

from billing.catalog import Catalog
from billing.effects import (
    DeleteDataSource,
    DeleteWorkspace,
    Effect,
    PostInvoice,
    ReactivateWorkspace,
    RevertWorkspace,
)
from billing.invoicing.dunning import dunning_schedule, overdue_at
from billing.retention import plan_reactivation, plan_revert
from billing.workspace import RevertPlan, WorkspaceSnapshot
from contracts import activities as refs
from contracts.invoices import InvoiceJob
from contracts.records import DecisionRecord
from contracts.workspace import DueDeletions, WorkspaceDeletion
from workflows.calls import run, run_local

# Posting runs as a local activity: the renewal's workflow task records, posts and continues
# as new by itself instead of waiting a second task for the `post_invoice` activity.
POST_INVOICE_LOCAL_PATCH = "post-invoice-local"
# A command's record is written by a regular activity, after its Update is accepted: see
# `EffectRunner.record`.
RECORD_AFTER_ACCEPTANCE_PATCH = "record-after-acceptance"


class EffectRunner:
    """Performs effects for one workspace; remembers the last revert plan."""

    def __init__(
        self,
        workspace_id: str,
        catalog: Catalog,
        last_revert: RevertPlan | None,
        *,
        stripe_task_queue: str,
        clock_offset_seconds: int = 0,
    ) -> None:
        self.workspace_id = workspace_id
        self.catalog = catalog
        self.last_revert = last_revert
        self.stripe_task_queue = stripe_task_queue
        self.clock_offset_seconds = clock_offset_seconds

    async def perform(self, effects: Sequence[Effect]) -> RevertPlan | None:
        """Run the effects that change the workspace's data, in order; returns the revert
        plan if one was applied.

        Each effect carries the instant it is due (a deadline, or the command's time):
        acting at that instant, not when the worker got to it, keeps the dates exact
        (a revert at the period end schedules deletions exactly 7 days later).
        """
        applied: RevertPlan | None = None
        for effect in effects:
            if isinstance(effect, RevertWorkspace):
                applied = await self._revert(effect)
            elif isinstance(effect, ReactivateWorkspace):
                await self._reactivate(effect)
            elif isinstance(effect, DeleteDataSource):
                due = DueDeletions(workspace_id=self.workspace_id, at=effect.at)
                await run(refs.DELETE_DUE_DATA_SOURCES, due)
            elif isinstance(effect, DeleteWorkspace):
                deletion = WorkspaceDeletion(workspace_id=self.workspace_id, at=effect.at)
                await run(refs.DELETE_WORKSPACE_DATA, deletion)
            elif isinstance(effect, PostInvoice):
                await self._post(effect)
            # RecordEvent and SendEmail are part of the decision's record (workflows.record).
        return applied

    async def _post(self, effect: PostInvoice) -> None:
        """Hand the invoice to its own workflow, which records and collects it over days,
        across this run's continue-as-new (`activities.posting` says why not a child)."""
        draft = effect.invoice
        job = InvoiceJob(
            workspace_id=self.workspace_id,
            subscription_workflow_id=workflow.info().workflow_id,
            draft=draft,
            retry_at=tuple(dunning_schedule(draft.issued_at, self.catalog)),
            overdue_at=overdue_at(draft.issued_at, self.catalog),
            stripe_task_queue=self.stripe_task_queue,
            clock_offset_seconds=self.clock_offset_seconds,
        )
        if workflow.patched(POST_INVOICE_LOCAL_PATCH):
            await run_local(refs.POST_INVOICE_LOCAL, job)
        else:
            await run(refs.POST_INVOICE, job)

    async def snapshot(self) -> WorkspaceSnapshot:
        """The workspace as the database has it now."""
        return await run(refs.LOAD_SNAPSHOT, self.workspace_id)

    async def _revert(self, effect: RevertWorkspace) -> RevertPlan:
        snapshot = await self.snapshot()
        # Who stays was decided once, from the subscription's roster (the effect); the
        # database contributes only what the product reported (connections, data, agents).
        kept = [effect.kept_member] if effect.kept_member is not None else []
        plan = plan_revert(
            snapshot,
            effect.at,
            self.catalog.retention,
            frozenset(self.catalog.roles.billing_admin),
            limits=self.catalog.free_limits(),
            roster=(kept, effect.suspended_members),
        )
        if self.catalog.free_plan is None:
            # Only a run recorded before rules 2 asks this (`billing.state.CURRENT_RULES`): it
            # must issue the same activities on replay, and must not destroy anything now.
            plan = plan.model_copy(
                update={
                    "suspended_member_ids": [],
                    "previous_seats": [],
                    "deleted_connection_ids": [],
                    "remove_slack_bot": False,
                    "deactivated_agent_ids": [],
                    "scheduled_deletions": [],
                    "warning_email": None,
                    "limit_violations": [],
                }
            )
        await run(refs.APPLY_REVERT, plan)
        self.last_revert = plan
        return plan

    async def _reactivate(self, effect: ReactivateWorkspace) -> None:
        snapshot = await self.snapshot()
        plan = plan_reactivation(
            snapshot, self.last_revert, effect.at, effect.restored_members, effect.restored_agents
        )
        await run(refs.APPLY_REACTIVATION, plan)
        self.last_revert = None

    async def record(self, record: DecisionRecord) -> None:
        """Write a decision's record.

        A decision of a timer or a signal is written by a local activity: one short,
        idempotent transaction, no task-queue round trip, one marker in history; if the
        worker dies before the workflow task completes, the task is retried and the record
        written again (idempotent), because what caused it is already in history.

        A command's decision (inside an Update) is not in history until the task that
        accepts the Update completes, and a local activity would write it before: if that
        task is then lost (the server restarting, the worker killed with nobody re-sending
        the Update), the database and the outbox keep a command the workflow never had
        (seen by `bench.chaos`: a seat in SQL, none in the workflow, its e-mail and event
        sent). So an Update's record is a regular activity, scheduled by the task that
        accepts the Update: it runs only once the acceptance is durable, and then surely.
        """
        if workflow.current_update_info() is not None and workflow.patched(RECORD_AFTER_ACCEPTANCE_PATCH):
            await run(refs.RECORD_COMMAND, record)
        else:
            await run_local(refs.RECORD_DECISION, record)

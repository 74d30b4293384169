"""`TenureClient`: what the HTTP API offers, for Python services, straight over Temporal.

Every command is the subscription workflow's Update named by its ``kind`` (validated by the
workflow; a refusal changes nothing) and raises `TenureError` with the same codes the HTTP
API returns. A command's ``request_id`` makes retries safe: the workflow remembers it and a
repeat returns the first result.

Example:
    client = await TenureClient.connect(Settings())
    await client.assign_seat("acme", user="bob", seat_type="pro", actor="alice")
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from billing import (
    ApproveSeats,
    AssignSeat,
    Cancel,
    Catalog,
    ChangeSeat,
    Command,
    CommandResult,
    DeleteWorkspaceCommand,
    ExtendTrial,
    Member,
    Preview,
    Reactivate,
    RequestSeats,
    SelectPlan,
    SetContract,
    UnassignSeat,
)
from billing.overview import Overview
from billing.state import BillingState
from config.settings import Settings
from config.temporal import connect
from observability import metrics
from workflows.details import first_owner, static_details, static_summary
from workflows.invoice import InvoiceWorkflow, StripeNotice, invoice_workflow_id
from workflows.messages import PreviewRequest, SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow


class TenureError(Exception):
    """A refusal: ``code`` is the domain's (``forbidden``, ``seat_limit_reached``, ...)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details or {}


def _request_id(given: str | None) -> str:
    return given or uuid.uuid4().hex


class TenureClient:
    """Subscriptions of one Tenure deployment (its Temporal namespace and task queues)."""

    def __init__(
        self, temporal: Client, task_queue: str = "tenure", stripe_task_queue: str = "tenure-stripe"
    ):
        self.temporal = temporal
        self.task_queue = task_queue
        self.stripe_task_queue = stripe_task_queue

    @classmethod
    async def connect(cls, settings: Settings) -> TenureClient:
        """Connect to the deployment the settings describe."""
        return cls(await connect(settings), settings.task_queue, settings.stripe_task_queue)

    def _handle(self, workspace_id: str) -> WorkflowHandle[SubscriptionWorkflow, str]:
        return self.temporal.get_workflow_handle_for(SubscriptionWorkflow.run, workflow_id(workspace_id))

    async def start_subscription(
        self, workspace_id: str, catalog: Catalog, members: dict[str, Member], started_by: str = ""
    ) -> None:
        """Start the workspace's subscription (data registered first); again changes nothing.
        The Web UI shows who started it (``started_by``, else an owner) in its summary."""
        by = started_by or first_owner(members)
        start = SubscriptionStart(
            workspace_id=workspace_id,
            catalog=catalog,
            members=members,
            stripe_task_queue=self.stripe_task_queue,
        )
        await self.temporal.start_workflow(
            SubscriptionWorkflow.run,
            start,
            id=workflow_id(workspace_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=static_summary(workspace_id, catalog.name, by),
            static_details=static_details(workspace_id, catalog.name, by, datetime.now(UTC)),
        )

    @metrics.observe_command
    async def execute(self, workspace_id: str, command: Command) -> CommandResult:
        """Send ``command`` as the Update named by its ``kind``; a refusal raises `TenureError`."""
        try:
            result: CommandResult = await self._handle(workspace_id).execute_update(
                command.kind, command, id=command.request_id, result_type=CommandResult
            )
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type:
                details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
                raise TenureError(cause.type, cause.message, details) from None
            raise
        except RPCError as error:
            raise _missing(workspace_id, error) from None
        return result

    async def select_plan(
        self, workspace_id: str, plan: str, *, actor: str, request_id: str | None = None
    ) -> CommandResult:
        """Choose a plan: the trial's, an upgrade now, a downgrade at period end."""
        command = SelectPlan(request_id=_request_id(request_id), actor=actor, plan=plan)
        return await self.execute(workspace_id, command)

    async def assign_seat(
        self,
        workspace_id: str,
        *,
        user: str,
        seat_type: str,
        actor: str,
        cycle: str = "monthly",
        request_id: str | None = None,
    ) -> CommandResult:
        """Give ``user`` a paid seat of ``seat_type``."""
        command = AssignSeat.model_validate(
            {
                "request_id": _request_id(request_id),
                "actor": actor,
                "user": user,
                "type": seat_type,
                "cycle": cycle,
            }
        )
        return await self.execute(workspace_id, command)

    async def change_seat(
        self, workspace_id: str, *, user: str, seat_type: str, actor: str, request_id: str | None = None
    ) -> CommandResult:
        """Change a seat's type (upgrade now, downgrade at period end)."""
        command = ChangeSeat(request_id=_request_id(request_id), actor=actor, user=user, seat_type=seat_type)
        return await self.execute(workspace_id, command)

    async def unassign_seat(
        self, workspace_id: str, *, user: str, actor: str, request_id: str | None = None
    ) -> CommandResult:
        """Take ``user``'s paid seat away."""
        command = UnassignSeat(request_id=_request_id(request_id), actor=actor, user=user)
        return await self.execute(workspace_id, command)

    async def cancel(
        self, workspace_id: str, *, actor: str, reason: str | None = None, request_id: str | None = None
    ) -> CommandResult:
        """Cancel at the end of the current period."""
        command = Cancel(request_id=_request_id(request_id), actor=actor, reason=reason)
        return await self.execute(workspace_id, command)

    async def reactivate(
        self, workspace_id: str, *, actor: str, request_id: str | None = None
    ) -> CommandResult:
        """Withdraw a cancellation, or restore a reverted workspace."""
        command = Reactivate(request_id=_request_id(request_id), actor=actor)
        return await self.execute(workspace_id, command)

    async def delete_workspace(
        self, workspace_id: str, *, confirm: str, actor: str, request_id: str | None = None
    ) -> CommandResult:
        """Delete everything (irreversible): ``confirm`` must be the workspace id."""
        command = DeleteWorkspaceCommand(request_id=_request_id(request_id), actor=actor, confirm=confirm)
        return await self.execute(workspace_id, command)

    async def extend_trial(
        self, workspace_id: str, *, days: int, staff: str, request_id: str | None = None
    ) -> CommandResult:
        """Support staff: extend the trial by ``days``."""
        command = ExtendTrial(request_id=_request_id(request_id), actor=f"staff:{staff}", days=days)
        return await self.execute(workspace_id, command)

    async def set_contract(self, workspace_id: str, contract: SetContract) -> CommandResult:
        """Support staff: set a sales contract (``contract.actor`` must be ``staff:<login>``)."""
        return await self.execute(workspace_id, contract)

    async def request_seats(
        self,
        workspace_id: str,
        *,
        quantity: int,
        actor: str,
        note: str | None = None,
        request_id: str | None = None,
    ) -> CommandResult:
        """An admin asks to buy ``quantity`` more seats under the contract (sales confirm)."""
        command = RequestSeats(
            request_id=_request_id(request_id), actor=actor, quantity=quantity, reason=note
        )
        return await self.execute(workspace_id, command)

    async def approve_seats(
        self, workspace_id: str, *, request: str, staff: str, request_id: str | None = None
    ) -> CommandResult:
        """Support staff: approve seat request ``request``; its seats are charged at once."""
        command = ApproveSeats(request_id=_request_id(request_id), actor=f"staff:{staff}", request=request)
        return await self.execute(workspace_id, command)

    async def void_invoice(self, number: str, *, timeout_s: float = 60) -> str:
        """Support staff: void an invoice still being collected; its final status.

        "void" unless the invoice was paid before the void arrived (the money was collected).

        Raises:
            TenureError: ``invoice_not_open`` when no collection of ``number`` is running.
        """
        handle = self.temporal.get_workflow_handle(invoice_workflow_id(number))
        try:
            await handle.signal(InvoiceWorkflow.void)
            result: str = await asyncio.wait_for(handle.result(), timeout=timeout_s)
        except RPCError as error:
            raise TenureError(
                "invoice_not_open", f"invoice {number} is not being collected: {error.message}"
            ) from None
        return result

    async def request_cancellation(
        self, workspace_id: str, *, reason: str, staff: str, request_id: str | None = None
    ) -> CommandResult:
        """Support staff: cancel at period end on the customer's behalf (the ``cancel`` Update,
        as for a member: a refusal raises `TenureError` with its code)."""
        command = Cancel(request_id=_request_id(request_id), actor=f"staff:{staff}", reason=reason)
        return await self.execute(workspace_id, command)

    async def preview(self, workspace_id: str, command: Command) -> Preview:
        """The exact invoice lines ``command`` would charge now, without applying it."""
        request = PreviewRequest(command=command, at=datetime.now(UTC))
        try:
            answer = await self._handle(workspace_id).query(SubscriptionWorkflow.quote, request)
        except RPCError as error:
            raise _missing(workspace_id, error) from None
        if answer.refusal is not None:
            raise TenureError(answer.refusal.code, answer.refusal.message, dict(answer.refusal.details))
        assert answer.preview is not None
        return answer.preview

    async def overview(self, workspace_id: str) -> Overview:
        """What the billing page shows that the subscription knows."""
        try:
            return await self._handle(workspace_id).query(SubscriptionWorkflow.billing_overview)
        except RPCError as error:
            raise _missing(workspace_id, error) from None

    async def state(self, workspace_id: str) -> BillingState:
        """The subscription's whole state."""
        try:
            return await self._handle(workspace_id).query(SubscriptionWorkflow.state)
        except RPCError as error:
            raise _missing(workspace_id, error) from None

    async def notify_invoice(self, number: str, event_id: str, event_type: str) -> None:
        """Tell invoice ``number``'s collection that Stripe reported ``event_type``.

        Raises:
            TenureError: ``invoice_not_open`` when no collection of ``number`` is running.
        """
        notice = StripeNotice(event_id=event_id, type=event_type)
        try:
            await self._invoice(number).signal(InvoiceWorkflow.stripe_notice, notice)
        except RPCError as error:
            message = f"invoice {number} is not being collected: {error}"
            raise TenureError("invoice_not_open", message) from None

    async def retry_invoice(self, number: str) -> bool:
        """Ask invoice ``number``'s collection to charge again now; False: already settled."""
        try:
            await self._invoice(number).signal(InvoiceWorkflow.retry_now)
        except RPCError:
            return False
        return True

    def _invoice(self, number: str) -> WorkflowHandle[Any, Any]:
        return self.temporal.get_workflow_handle(invoice_workflow_id(number))


def _missing(workspace_id: str, error: RPCError) -> Exception:
    if error.status == RPCStatusCode.NOT_FOUND:
        return TenureError("not_found", f"workspace {workspace_id!r} has no subscription")
    return error

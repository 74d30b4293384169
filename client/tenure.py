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
import contextlib
import dataclasses
import itertools
import logging
import random
import uuid
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
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
from contracts.errors import TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS
from observability import metrics
from workflows.details import first_owner, static_details, static_summary
from workflows.invoice import InvoiceWorkflow, StripeNotice, invoice_workflow_id
from workflows.messages import PreviewRequest, SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

log = logging.getLogger("tenure.client")


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
        self,
        temporal: Client,
        task_queue: str = "tenure",
        stripe_task_queue: str = "tenure-stripe",
        *,
        retry_deadline_s: float = 10.0,
        in_flight: int = 5,
    ):
        self.temporal = temporal
        self.task_queue = task_queue
        self.stripe_task_queue = stripe_task_queue
        self.retry_deadline_s = retry_deadline_s
        self.in_flight = in_flight

    @classmethod
    async def connect(cls, settings: Settings) -> TenureClient:
        """Connect to the deployment the settings describe."""
        return cls(
            await connect(settings),
            settings.task_queue,
            settings.stripe_task_queue,
            retry_deadline_s=settings.command_retry_deadline_s,
            in_flight=settings.command_in_flight_per_workspace,
        )

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
        """Send ``command`` as the Update named by its ``kind``; a refusal raises `TenureError`.

        An Update the server turns away for load (10 in flight per workflow) or aborts because
        the run is continuing as new is sent again, with backoff, for ``retry_deadline_s``:
        the same Update id and the workflow's own request-id window (`BillingState.processed`,
        carried across continue-as-new) make the repeat apply once. What still fails raises
        `TenureError` ``too_many_requests`` or ``temporarily_unavailable``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_deadline_s
        for attempt in itertools.count():
            try:
                async with self._gate(workspace_id, deadline - loop.time()):
                    return await self._send(workspace_id, command)
            except _Retryable as busy:
                pause = _backoff(attempt)
                if loop.time() + pause > deadline:
                    log.warning(
                        "%s %s gave up after %d attempts: %s",
                        command.kind,
                        command.request_id,
                        attempt + 1,
                        busy,
                    )
                    raise busy.refusal(self.retry_deadline_s) from None
                log.debug("%s %s retried in %.2fs: %s", command.kind, command.request_id, pause, busy)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    @contextlib.asynccontextmanager
    async def _gate(self, workspace_id: str, wait_s: float) -> AsyncIterator[None]:
        """One of this connection's ``in_flight`` places for Updates to the workspace's workflow.

        The server takes 10 Updates in flight per workflow and turns the 11th away. Measured
        on the dev server (tests/workflows/test_overload_burst.py): once callers exceed that
        limit, throughput collapses: the SDK retries each refusal itself for seconds, the
        server drops the workflow task again and again ("Task not found when completing")
        and aborts every Update in it, and 120 assignments took over a minute for 40 applied.
        Waiting here keeps the surplus off the server: the same burst takes 7 s.
        """
        # Per connection (the API builds a TenureClient per request on one shared Temporal
        # client), held weakly: an id() could be reused by a later connection.
        gates = _GATES.setdefault(self.temporal, {})
        gate = gates.setdefault(workspace_id, _Gate(asyncio.Semaphore(self.in_flight)))
        gate.users += 1
        try:
            try:
                await asyncio.wait_for(gate.places.acquire(), timeout=max(wait_s, 0))
            except TimeoutError:
                raise _Retryable(
                    TOO_MANY_REQUESTS, "waited for a place among the in-flight commands"
                ) from None
            try:
                yield
            finally:
                gate.places.release()
        finally:
            gate.users -= 1
            if gate.users == 0:  # nobody holds or awaits a place: forget the workspace
                gates.pop(workspace_id, None)

    async def _send(self, workspace_id: str, command: Command) -> CommandResult:
        try:
            result: CommandResult = await self._handle(workspace_id).execute_update(
                command.kind, command, id=command.request_id, result_type=CommandResult
            )
        except WorkflowUpdateFailedError as failed:
            cause = failed.cause
            if isinstance(cause, ApplicationError) and cause.type == _COMPLETED_BEFORE_UPDATE:
                raise _Retryable(TEMPORARILY_UNAVAILABLE, cause.message) from None
            if isinstance(cause, ApplicationError) and cause.type:
                details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
                raise TenureError(cause.type, cause.message, details) from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError as timed_out:
            raise _Retryable(TEMPORARILY_UNAVAILABLE, str(timed_out)) from None
        except RPCError as error:
            if (retryable := _retryable(error)) is not None:
                raise retryable from None
            if error.status == RPCStatusCode.NOT_FOUND and await self._between_runs(workspace_id):
                raise _Retryable(TEMPORARILY_UNAVAILABLE, error.message) from None
            raise _missing(workspace_id, error) from None
        return result

    async def _between_runs(self, workspace_id: str) -> bool:
        """Whether an Update's NOT_FOUND met a run closing by continue-as-new, not an ended
        subscription. The servers word it differently ("workflow execution already completed"
        on the dev server, "Completed workflow" on the time-skipping one), and both say it of
        a workflow that ended for good too: the latest run's status tells them apart."""
        # The raw call: `WorkflowHandle.describe` decodes the search attributes too, and
        # fails on a datetime one while its value is being upserted (TypeError, seen).
        execution = WorkflowExecution(workflow_id=workflow_id(workspace_id))
        request = DescribeWorkflowExecutionRequest(namespace=self.temporal.namespace, execution=execution)
        try:
            answer = await self.temporal.workflow_service.describe_workflow_execution(request)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise _missing(workspace_id, error) from None
        return answer.workflow_execution_info.status in _STILL_GOING

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
    if error.status in _UNAVAILABLE:  # Temporal down or overloaded: never a bare 500
        return TenureError(TEMPORARILY_UNAVAILABLE, f"the engine cannot answer now: {error.message}", _RETRY)
    return error


# What the SDK raises when the run an accepted Update ran on closed first (a continue-as-new).
_COMPLETED_BEFORE_UPDATE = "AcceptedUpdateCompletedWorkflow"
# RPC statuses of a server that is there but cannot take the Update now. Measured on the dev
# server (120 concurrent assignments across a checkout): RESOURCE_EXHAUSTED "limit on number
# of concurrent in-flight updates has been reached (10)"; ABORTED "workflow update was
# aborted" and UNAVAILABLE "workflow operation can not be applied because workflow is
# closing" while the run continues as new.
_UNAVAILABLE = frozenset(
    {
        RPCStatusCode.ABORTED,
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
    }
)
_RETRY_AFTER_S = 1
# A latest run in one of these states means the subscription goes on: the Update met the
# instant a run closed by continue-as-new, and the next attempt reaches the new run.
_STILL_GOING = frozenset(
    {
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
    }
)


@dataclasses.dataclass
class _Gate:
    """The in-flight places of one workspace on one connection, and who holds or awaits one."""

    places: asyncio.Semaphore
    users: int = 0


_GATES: weakref.WeakKeyDictionary[Client, dict[str, _Gate]] = weakref.WeakKeyDictionary()
_RETRY = {"retry_after_s": _RETRY_AFTER_S}
_FIRST_PAUSE_S = 0.05
_LONGEST_PAUSE_S = 1.0


class _Retryable(Exception):
    """The server could not take the Update now; the same Update may be sent again."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def refusal(self, waited_s: float) -> TenureError:
        what = (
            "too many commands at once for this workspace"
            if self.code == TOO_MANY_REQUESTS
            else "the engine is busy"
        )
        return TenureError(self.code, f"{what} (retried for {waited_s:g} s): {self.reason}", dict(_RETRY))


def _retryable(error: RPCError) -> _Retryable | None:
    if error.status == RPCStatusCode.RESOURCE_EXHAUSTED:
        return _Retryable(TOO_MANY_REQUESTS, error.message)
    if error.status in _UNAVAILABLE:
        return _Retryable(TEMPORARILY_UNAVAILABLE, error.message)
    return None


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: concurrent callers spread out instead of
    knocking on the 10 in-flight slots together again."""
    return random.uniform(0, min(_LONGEST_PAUSE_S, _FIRST_PAUSE_S * 2**attempt))

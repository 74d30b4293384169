"""The webhook dispatchers' handles: started with an endpoint, stopped with it, told to replay.

Part of `TenureClient`'s role (the only holder of workflow handles), in its own module to keep
`client/tenure.py` short: ``WebhookDispatchers(tenure_client)``.
"""

from __future__ import annotations

from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError, RPCStatusCode

from client.tenure import TenureClient
from contracts.webhooks import DeliveryPolicy, DispatcherState, DispatcherStatus, ReplayRange
from workflows.webhook_delivery import WebhookDispatcherWorkflow, dispatcher_id


class WebhookDispatchers:
    """The dispatchers of one deployment (its main task queue)."""

    def __init__(self, client: TenureClient) -> None:
        self._temporal = client.temporal
        self._task_queue = client.task_queue

    async def start(self, endpoint_id: str, cursor: int, policy: DeliveryPolicy) -> None:
        """Start the endpoint's dispatcher, reading the log after ``cursor``; a running one stays."""
        state = DispatcherState(endpoint_id=endpoint_id, policy=policy, cursor=cursor)
        await self._temporal.start_workflow(
            WebhookDispatcherWorkflow.run,
            state,
            id=dispatcher_id(endpoint_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def stop(self, endpoint_id: str) -> None:
        """End the endpoint's dispatcher now (an attempt in flight may still arrive once)."""
        handle = self._temporal.get_workflow_handle(dispatcher_id(endpoint_id))
        try:
            await handle.terminate("webhook endpoint deleted")
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:  # already gone: nothing to stop
                raise

    async def replay(
        self, endpoint_id: str, wanted: ReplayRange, cursor: int, policy: DeliveryPolicy
    ) -> None:
        """Ask the dispatcher to send ``wanted`` again (and resume if failing); one that is not
        running is started first, reading the log after ``cursor``."""
        state = DispatcherState(endpoint_id=endpoint_id, policy=policy, cursor=cursor)
        await self._temporal.start_workflow(
            WebhookDispatcherWorkflow.run,
            state,
            id=dispatcher_id(endpoint_id),
            task_queue=self._task_queue,
            start_signal="replay",
            start_signal_args=[wanted],
        )

    async def status(self, endpoint_id: str) -> DispatcherStatus:
        """What the dispatcher reports (its cursor, what is pending, failing)."""
        handle = self._temporal.get_workflow_handle(dispatcher_id(endpoint_id))
        return await handle.query(WebhookDispatcherWorkflow.status)

"""Watching a simulation's workflows from outside: which exist, whether any has work left.

Everything here describes workflows and never queries them: `settle` polls while the
subscription may be continuing as new, and a query that races a continue-as-new on the
time-skipping server is never answered and keeps the server's clock locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from simulate.history import open_timers, read_history, signals_in_flight
from simulate.watchdog import SimulationError, SimulationInterrupted
from workflows.invoice import invoice_workflow_id
from workflows.messages import workflow_id

# Longer than a step takes to apply on a loaded machine: a timer due that soon could fire
# while the step's task is with the worker.
TIMER_GUARD = timedelta(seconds=5)
# Wall-clock bound for the engine to finish what an instant started (collection included).
SETTLE_TIMEOUT_S = 60.0


class Engine:
    """One workspace's workflows on the simulation's Temporal server."""

    def __init__(self, client: Client, workspace_id: str, interrupted: threading.Event) -> None:
        self.client = client
        self.workspace_id = workspace_id
        self.interrupted = interrupted
        self._invoice_ids: list[str] = []
        self._closed: set[str] = set()

    def _check_interrupted(self) -> None:
        if self.interrupted.is_set():
            raise SimulationInterrupted("interrupted")

    def is_closed(self, wf_id: str) -> bool:
        """Whether ``wf_id`` is an invoice workflow seen settled for good."""
        return wf_id in self._closed

    async def workflow_ids(self) -> list[str]:
        """The subscription's workflow and every invoice workflow started so far.

        Found by describing, never by querying: `settle` polls while the subscription may be
        continuing as new, and a query that races a continue-as-new on the time-skipping
        server is never answered and keeps the server's clock locked (every later skip
        then waits in wall-clock time: the hang of coinciding instants). Invoice numbers
        are gapless (``<workspace>-00001``, ...), so probing stops at the first unknown one.
        """
        while True:
            next_id = self._invoice_id(len(self._invoice_ids) + 1)
            if await self._describe(next_id) is None:
                return [workflow_id(self.workspace_id), *self._invoice_ids]
            self._invoice_ids.append(next_id)

    def _invoice_id(self, seq: int) -> str:
        return invoice_workflow_id(f"{self.workspace_id}-{seq:05d}")

    async def _describe(self, wf_id: str) -> Any:
        """The raw description, None when there is no such workflow (yet).

        The raw service call: the SDK's `describe` decodes search attributes, and the test
        server returns Datetime ones in a shape it cannot read.
        """
        client = self.client
        request = DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=wf_id)
        )
        try:
            return await client.workflow_service.describe_workflow_execution(request)
        except RPCError:
            return None  # not started yet, or gone

    async def running_ids(self) -> list[str]:
        """The ids of the workspace's workflows whose current run is still running."""
        running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
        found = []
        for wf_id in await self.workflow_ids():
            if wf_id in self._closed:
                continue
            raw = await self._describe(wf_id)
            if raw is not None and raw.workflow_execution_info.status == running:
                found.append(wf_id)
        return found

    async def _busy(self) -> bool:
        """Whether any of the workspace's workflows has work outstanding."""
        for wf_id in await self.workflow_ids():
            if wf_id in self._closed:
                continue
            raw = await self._describe(wf_id)
            if raw is None:
                continue
            running = WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            if raw.workflow_execution_info.status != running:
                if wf_id != workflow_id(self.workspace_id):
                    self._closed.add(wf_id)  # an invoice settled for good
                continue
            if raw.pending_activities or raw.HasField("pending_workflow_task"):
                return True
            # An invoice's report to its subscription may be on its way.
            invoice = wf_id != workflow_id(self.workspace_id)
            if invoice and signals_in_flight(await read_history(self.client, wf_id)):
                return True
        return False

    async def let_due_timers_fire(self, env: WorkflowEnvironment) -> None:
        """Before a step: wait until no timer of the workspace's workflows is due within
        `TIMER_GUARD` of the server's clock, settling after each fires (`simulate.history`:
        a timer firing while the step's task is with the worker strands the run).

        The clock is held between skips and runs at real pace, so the wait is real time."""
        while True:
            now = (await env.get_current_time()).replace(tzinfo=None)
            due: list[datetime] = []
            # A finished run keeps its last timer open in its history: only running ones count.
            for wf_id in await self.running_ids():
                timers = open_timers(await read_history(self.client, wf_id))
                due += [at for at in timers if at <= now + TIMER_GUARD]
            if not due:
                return
            await asyncio.sleep(max((max(due) - now).total_seconds(), 0.0) + 0.05)
            await self.settle()

    async def settle(self) -> None:
        """Wait (wall clock; the simulated clock stands) until what this instant started is
        done: Updates applied, invoices persisted and collected, facts reported back."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SETTLE_TIMEOUT_S
        quiet = 0
        while quiet < 2:
            self._check_interrupted()
            quiet = 0 if await self._busy() else quiet + 1
            if loop.time() > give_up:
                raise SimulationError("the engine did not settle within a minute (see the worker's log)")
            if quiet < 2:
                await asyncio.sleep(0.02)

    async def terminate(self) -> None:
        """Stop what is still running: a shared server must not keep our timers firing."""
        client = self.client
        for wf_id in await self.workflow_ids():
            with contextlib.suppress(RPCError):  # already finished
                await client.get_workflow_handle(wf_id).terminate("simulation finished")

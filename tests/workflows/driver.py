"""Drive one subscription workflow on the time-skipping server, on a chosen calendar.

The workflow's clock is the server's clock plus ``clock_offset_seconds``: the driver picks
the offset so the subscription starts at the scenario's date, then moves the server's
clock forward with ``env.sleep``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from billing import BillingState, Catalog, Command, CommandResult, Member, load_catalog
from billing.overview import Overview
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from services.workspaces import store_workspace
from simulate.clock import SimulatedClock
from tests.workflows.payments import Payments
from workflows.invoice import invoice_workflow_id
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

# How long (wall clock) an invoice may take to be collected through the emulator.
COLLECTION_WAIT_S = 30.0

_INVOICE_NUMBERS = text("SELECT number FROM invoices WHERE workspace_id = :ws")


class Driver:
    """One workspace's subscription under test."""

    def __init__(
        self,
        env: WorkflowEnvironment,
        engine: AsyncEngine,
        task_queue: str,
        *,
        payments: Payments,
        stripe_task_queue: str | None = None,
    ) -> None:
        self.env = env
        self.engine = engine
        self.task_queue = task_queue
        self.stripe_task_queue = stripe_task_queue or f"{task_queue}-stripe"
        self.payments = payments
        self.clock = SimulatedClock(env)
        self.handle: WorkflowHandle[SubscriptionWorkflow, str] | None = None
        self.workspace_id = ""
        # Every workspace this test made: the fixture terminates all their workflows (one
        # left running on its module's task queue would hold the test server's clock).
        self.workspaces: dict[str, WorkflowHandle[SubscriptionWorkflow, str]] = {}
        self.catalog: Catalog | None = None
        self._reported_paid: set[str] = set()

    async def start(
        self, setup: WorkspaceSetup, catalog: str, at: datetime, card: str | None = "pm_card_visa"
    ) -> None:
        """Register the workspace, give it the test card ``card`` (None: no card on file),
        then start its subscription at ``at``."""
        self.adopt(setup.workspace_id)
        self.catalog = load_catalog(catalog)
        await store_workspace(session_factory(self.engine), setup)
        if card is not None:
            await self.payments.give_card(setup.workspace_id, card)
        await self.clock.start_at(at)  # the subscription starts within a second after ``at``
        members = {
            m.user_id: Member(role=m.role, role_granted_at=m.role_granted_at or at) for m in setup.members
        }
        self.handle = await self.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionStart(
                workspace_id=setup.workspace_id,
                catalog=self.catalog,
                members=members,
                stripe_task_queue=self.stripe_task_queue,
                clock_offset_seconds=self.clock.offset,
            ),
            id=workflow_id(setup.workspace_id),
            task_queue=self.task_queue,
        )
        self.workspaces[setup.workspace_id] = self.handle  # with its first run's id

    def adopt(self, workspace_id: str) -> None:
        """Drive ``workspace_id`` (started elsewhere, e.g. through the API) from now on; its
        workflows are terminated with the others when the test ends."""
        self.workspace_id = workspace_id
        self.handle = self.workspaces[workspace_id] = self._subscription(workspace_id)

    def _subscription(self, workspace_id: str) -> WorkflowHandle[SubscriptionWorkflow, str]:
        return self.env.client.get_workflow_handle_for(SubscriptionWorkflow.run, workflow_id(workspace_id))

    async def now(self) -> datetime:
        """The subscription's current time."""
        return await self.clock.now()

    async def advance_to(self, at: datetime) -> None:
        """Let time pass until ``at`` (timers fire on the way; see `SimulatedClock`)."""
        await self.clock.advance_to(at)

    async def update(self, command: Command) -> CommandResult:
        """Send a command as the Update its kind names; the request id doubles as the Update id."""
        assert self.handle is not None
        result: CommandResult = await self.handle.execute_update(
            command.kind, command, id=command.request_id, result_type=CommandResult
        )
        return result

    async def pay_all(self) -> list[str]:
        """Wait until every posted invoice is collected (its workflow charges the card on
        file through the emulator and reports back); the numbers paid since the last call.

        Time does not move meanwhile: the test server only skips time inside `advance_to`.
        """
        loop = asyncio.get_running_loop()
        give_up = loop.time() + COLLECTION_WAIT_S
        while True:
            invoices = (await self.state()).invoices
            if not any(i.status in {"unpaid", "overdue"} for i in invoices):
                break
            if loop.time() > give_up:
                raise AssertionError(f"invoices not collected: {invoices}")
            await asyncio.sleep(0.05)
        paid = [i.number for i in invoices if i.status == "paid" and i.number not in self._reported_paid]
        self._reported_paid.update(paid)
        return paid

    async def wait_for(
        self, predicate: Callable[[BillingState], bool], what: str, timeout_s: float = COLLECTION_WAIT_S
    ) -> BillingState:
        """The state once ``predicate`` holds (collection runs in wall time; the clock stands)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + timeout_s
        while not predicate(state := await self.state()):
            if loop.time() > give_up:
                raise AssertionError(f"never happened: {what}; state: {state}")
            await asyncio.sleep(0.05)
        return state

    async def workflow_handles(self) -> list[WorkflowHandle[Any, Any]]:
        """The subscription and invoice workflows (running or not) of every workspace made."""
        handles: list[WorkflowHandle[Any, Any]] = []
        for ws, subscription in self.workspaces.items():
            handles.append(subscription)
            numbers: set[str] = set()
            with contextlib.suppress(RPCError):
                numbers |= {i.number for i in (await subscription.query(SubscriptionWorkflow.state)).invoices}
            async with self.engine.connect() as conn:  # invoices a finished run no longer answers for
                rows = await conn.execute(_INVOICE_NUMBERS, {"ws": ws})
                numbers |= {str(n) for (n,) in rows}
            handles += [self.env.client.get_workflow_handle(invoice_workflow_id(n)) for n in sorted(numbers)]
        return handles

    async def state(self) -> BillingState:
        """The workflow's state (query)."""
        assert self.handle is not None
        return await self.handle.query(SubscriptionWorkflow.state)

    async def overview(self) -> Overview:
        """The billing overview (query)."""
        assert self.handle is not None
        return await self.handle.query(SubscriptionWorkflow.billing_overview)

    async def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of ``sql`` with ``:ws`` bound to this workspace."""
        async with self.engine.connect() as conn:
            result = await conn.execute(text(sql), {"ws": self.workspace_id})
            return [dict(r._mapping) for r in result]


def request_id() -> str:
    """A fresh request id."""
    return str(uuid.uuid4())

"""Drive one subscription workflow on the time-skipping server, on a chosen calendar.

The workflow's clock is the server's clock plus ``clock_offset_seconds``: the driver picks
the offset so the subscription starts at the scenario's date, then moves the server's
clock forward with ``env.sleep``.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.workspace import WorkspaceActivities
from billing import BillingState, Catalog, Command, CommandResult, Member, load_catalog
from billing.overview import Overview
from billing.records import WorkspaceSetup
from db.engine import session_factory
from workflows.messages import InvoiceFact, SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow


class Driver:
    """One workspace's subscription under test."""

    def __init__(self, env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str) -> None:
        self.env = env
        self.engine = engine
        self.task_queue = task_queue
        self.offset = 0
        self.handle: WorkflowHandle[SubscriptionWorkflow, str] | None = None
        self.workspace_id = ""
        self.catalog: Catalog | None = None

    async def start(self, setup: WorkspaceSetup, catalog: str, at: datetime) -> None:
        """Register the workspace, then start its subscription at ``at``."""
        self.workspace_id = setup.workspace_id
        self.catalog = load_catalog(catalog)
        await WorkspaceActivities(session_factory(self.engine)).register_workspace(setup)
        server_now = await self.env.get_current_time()
        # Whole seconds, rounded up: the subscription starts within a second after ``at``.
        self.offset = math.ceil((at - server_now).total_seconds())
        members = {
            m.user_id: Member(role=m.role, role_granted_at=m.role_granted_at or at) for m in setup.members
        }
        self.handle = await self.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionStart(
                workspace_id=setup.workspace_id,
                catalog=self.catalog,
                members=members,
                clock_offset_seconds=self.offset,
            ),
            id=workflow_id(setup.workspace_id),
            task_queue=self.task_queue,
        )

    async def now(self) -> datetime:
        """The subscription's current time."""
        from datetime import timedelta

        return await self.env.get_current_time() + timedelta(seconds=self.offset)

    async def advance_to(self, at: datetime) -> None:
        """Let time pass until ``at`` (timers fire on the way).

        The test server does not skip time while an activity runs; a skip blocked that
        long (a worker died mid-activity and the activity waits for its timeout) ends
        with an RPC timeout: ask again for what is left.
        """
        failures = 0
        while (gap := at - await self.now()).total_seconds() > 0:
            try:
                await self.env.sleep(gap)
            except RPCError:
                # "Timeout expired" or a reset stream, after a long block: retry a few times.
                failures += 1
                if failures > 10:
                    raise

    async def update(self, name: str, command: Command) -> CommandResult:
        """Send a command Update; the request id doubles as the Update id."""
        assert self.handle is not None
        result: CommandResult = await self.handle.execute_update(
            name, command, id=command.request_id, result_type=CommandResult
        )
        return result

    async def pay_all(self) -> list[str]:
        """Report every unpaid invoice paid, as the payment webhook does; their numbers."""
        assert self.handle is not None
        unpaid = [i.number for i in (await self.state()).invoices if i.status in {"unpaid", "overdue"}]
        for number in unpaid:
            await self.handle.signal(
                SubscriptionWorkflow.invoice_status,
                InvoiceFact(source_id=f"evt_paid_{number}", number=number, event="paid"),
            )
        return unpaid

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

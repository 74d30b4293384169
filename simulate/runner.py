"""Run a checked scenario on a stack: real workers, real workflows, real activities (SPEC §7).

The workers are composed exactly as the production worker composes them
(`worker.main.build_workers`). The workspace is registered and given its test card the
way the product does it, the subscription starts at the scenario's ``start``, and each
step is sent at its instant as the Update (or, for usage and cards, the write) that
production would receive. A step the engine refuses is recorded under ``rejected`` and
the run goes on. At ``end`` the report is read from the database and the workflow.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import stripe
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from activities.records import snapshot_of
from activities.stripe_gateway import StripeGateway, stripe_client
from activities.workspace import WorkspaceActivities
from billing import Command
from billing.retention import earliest_admin
from billing.state import BillingState, Member
from billing.usage import parse_event
from billing.workspace import Agent
from billing.workspace import Member as WorkspaceMember
from client.tenure import TenureClient, TenureError
from config.settings import Settings
from contracts.workspace import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup
from db import usage_repo, workspace_repo
from db.engine import session_factory
from db.workspace_models import WorkspaceRow
from devstack.test_cards import give_test_card
from simulate import report
from simulate.clock import SimulatedClock
from simulate.scenario import LoadedScenario
from simulate.stack import Progress, Stack, no_progress, private_stack
from simulate.steps import Step, step_command
from worker.main import build_workers
from workflows.invoice import InvoiceWorkflow, invoice_workflow_id
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

STRIPE_KEY = "sk_test_tenure_simulate"
STAFF = "staff:simulate"
CARDS = {"ok": "pm_card_visa", "declined": "pm_card_chargeCustomerFail"}
# Wall-clock bound for the engine to finish what an instant started (collection included).
SETTLE_TIMEOUT_S = 60.0
STALL_TIMEOUT_S = 120.0
T = TypeVar("T")


class SimulationError(RuntimeError):
    """The run could not go on (not a refused step: those are reported)."""


class SimulationStalled(SimulationError):
    """The watchdog: one phase of the run made no progress within `STALL_TIMEOUT_S`."""


class SimulationInterrupted(SimulationError):
    """The person asked to stop (Ctrl-C): the run stops at the next poll, servers stopped."""


def stall_timeout() -> float:
    """Seconds one phase (a step, the advance to ``end``) may take before the run is called
    stalled (a whole 12-month scenario takes seconds); ``TENURE_SIMULATE_STALL_S`` overrides."""
    return float(os.environ.get("TENURE_SIMULATE_STALL_S", STALL_TIMEOUT_S))


async def guarded(work: Awaitable[T], where: str, timeout_s: float) -> T:
    """``await work``, or raise `SimulationStalled` naming ``where`` after ``timeout_s``.

    Whatever stalls (a server that stops answering, a clock that never skips), the command
    ends with the place it stalled at, and the caller's context managers stop the servers.
    """
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        raise SimulationStalled(f"the run stalled for {timeout_s:.0f} s at {where}") from None
    except SimulationInterrupted:
        raise SimulationInterrupted(f"interrupted at {where}") from None


@dataclass
class Run:
    """One scenario on one stack."""

    loaded: LoadedScenario
    stack: Stack
    progress: Progress = no_progress
    # Set from a signal handler (Ctrl-C): checked at every poll of the engine, because a
    # task cancellation can be absorbed by the SDK's RPC calls and the run would go on.
    interrupted: threading.Event = field(default_factory=threading.Event)
    workspace_id: str = ""
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        scenario_id = self.loaded.scenario.workspace.id
        # On a shared stack (tests, benchmarks) earlier runs may have used the id: the run
        # works under a suffixed id and the report speaks of the scenario's own id.
        self.workspace_id = scenario_id if self.stack.private else f"{scenario_id}-{uuid.uuid4().hex[:8]}"
        self.queue = f"simulate-{uuid.uuid4().hex[:12]}"
        self._invoice_ids: list[str] = []
        self._closed: set[str] = set()
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.stack.engine)
        self.gateway = StripeGateway(stripe_client(STRIPE_KEY, self.stack.stripe_url, timeout_s=10))
        self.browser = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": self.stack.stripe_url})
        self.clock = SimulatedClock(self.stack.env)
        self.client = TenureClient(self.stack.env.client, self.queue, f"{self.queue}-stripe")
        self.handle: WorkflowHandle[SubscriptionWorkflow, str] = (
            self.stack.env.client.get_workflow_handle_for(
                SubscriptionWorkflow.run, workflow_id(self.workspace_id)
            )
        )

    def _settings(self) -> Settings:
        return Settings(
            task_queue=self.queue,
            stripe_task_queue=f"{self.queue}-stripe",
            stripe_api_key=SecretStr(STRIPE_KEY),
            stripe_api_base=self.stack.stripe_url,
        )

    async def execute(self) -> dict[str, Any]:
        """Run every step, advance to ``end`` and return the report (SPEC §7)."""
        main, payments = build_workers(
            self.stack.env.client, self._settings(), self.stack.engine, self.gateway
        )
        limit = stall_timeout()
        async with main, payments:
            try:
                scenario = self.loaded.scenario
                await guarded(self._start(), "the start of the subscription", limit)
                for index, step in enumerate(scenario.steps):
                    line = self.loaded.step_lines[index]
                    where = f"step {index + 1} (line {line}: {step.verb} at {step.at:%Y-%m-%dT%H:%M:%SZ})"
                    await guarded(self._at_step(index, step), where, limit)
                end = f"the advance to the end ({scenario.end:%Y-%m-%dT%H:%M:%SZ}) and the report"
                document = await guarded(self._finish(), end, limit)
            except BaseException:
                # Stop what runs, but never let that hide why the run stopped.
                with contextlib.suppress(Exception):
                    await guarded(self._terminate(), "stopping the simulation's workflows", limit)
                raise
            await guarded(self._terminate(), "stopping the simulation's workflows", limit)
            return document

    def _check_interrupted(self) -> None:
        if self.interrupted.is_set():
            raise SimulationInterrupted("interrupted")

    async def _at_step(self, index: int, step: Step) -> None:
        self._check_interrupted()
        await self.clock.advance_to(step.at)
        await self.settle()
        self.progress(f"{step.at:%Y-%m-%d %H:%M} {step.verb}")
        await self._step(index, step)
        await self.settle()

    async def _finish(self) -> dict[str, Any]:
        end = self.loaded.scenario.end
        self.progress(f"advancing to {end:%Y-%m-%d %H:%M}")
        await self.clock.advance_to(end)
        await self.settle()
        return await report.build(self)

    # --- setup -----------------------------------------------------------------------

    def setup(self) -> WorkspaceSetup:
        """The workspace as the scenario describes it."""
        spec, start = self.loaded.scenario.workspace, self.loaded.scenario.start
        return WorkspaceSetup(
            workspace_id=self.workspace_id,
            billing_contact_email=spec.billing_contact_email or f"billing@{spec.id}.test",
            spaces=spec.spaces,
            members=[
                WorkspaceMember(
                    user_id=m.user, role=m.role, role_granted_at=m.role_granted_at or start, email=m.email
                )
                for m in spec.members
            ],
            connections=[
                ConnectionSetup(
                    id=c.id,
                    kind=c.kind,
                    documents=[DocumentSetup(id=f"{c.id}-synced", bytes=c.bytes)] if c.bytes else [],
                )
                for c in spec.connection_specs()
            ],
            data_sources=[DataSourceSetup(id=d.id, bytes=d.bytes) for d in spec.data_sources],
            agents=[Agent(id=a) for a in spec.agents],
            slack_bot=spec.slack_bot,
        )

    async def _start(self) -> None:
        scenario = self.loaded.scenario
        setup = self.setup()
        await WorkspaceActivities(self.sessions).register_workspace(setup)
        if scenario.workspace.card != "none":
            await self._give_card(scenario.workspace.card)
        await self.clock.start_at(scenario.start)
        members = {
            m.user_id: Member(role=m.role, role_granted_at=m.role_granted_at or scenario.start)
            for m in setup.members
        }
        self.progress(f"{scenario.start:%Y-%m-%d %H:%M} subscription started ({self.loaded.catalog.name})")
        await self.stack.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionStart(
                workspace_id=self.workspace_id,
                catalog=self.loaded.catalog,
                members=members,
                stripe_task_queue=f"{self.queue}-stripe",
                clock_offset_seconds=self.clock.offset,
            ),
            id=workflow_id(self.workspace_id),
            task_queue=self.queue,
        )
        await self.settle()

    async def _give_card(self, card: str) -> None:
        await give_test_card(self.sessions, self.gateway, self.browser, self.workspace_id, CARDS[card])

    # --- steps -------------------------------------------------------------------------

    async def admin(self) -> str:
        """The acting member of billing changes: the active billing admin whose role was
        granted earliest *now* (after a demotion or a removal, the next one acts).

        Read from the database roster, which every decision's record mirrors, not by a
        query: a query at the instant a timer fires may race a continue-as-new, and the
        time-skipping server never answers such a query and keeps its clock locked.
        """
        async with self.sessions() as session:
            row = await session.get(WorkspaceRow, self.workspace_id)
            members = snapshot_of(await workspace_repo.load(session, row)).members if row else []
        found = earliest_admin(members, frozenset(self.loaded.catalog.roles.billing_admin))
        if found is not None:
            return found
        # Nobody may administer billing now: act as the scenario's first admin, and let the
        # engine refuse the step (reported under `rejected`).
        scenario = self.loaded.scenario
        admins = [m for m in scenario.workspace.members if m.role in self.loaded.catalog.roles.billing_admin]
        return min(admins, key=lambda m: (m.role_granted_at or scenario.start, m.user)).user

    async def _actor(self, step: Step) -> str:
        if step.actor == "staff":
            return STAFF
        return step.actor or await self.admin()

    async def _step(self, index: int, step: Step) -> None:
        if step.usage is not None:
            await self._usage(index)
            return
        if step.payment_method is not None:
            await self._give_card(step.payment_method.card)
            await self._retry_open_invoices()
            return
        command = self.command(index, step, await self._actor(step))
        try:
            await self.client.execute(self.workspace_id, command)
        except TenureError as refused:
            self.rejected.append(
                {
                    "at": step.at,
                    "step": step.verb,
                    "line": self.loaded.step_lines[index],
                    "error": refused.code,
                    "message": refused.message,
                }
            )

    def command(self, index: int, step: Step, actor: str) -> Command:
        """The command a step sends (request ids follow the step numbers: reruns match)."""
        return step_command(index, step, actor, staff=STAFF, workspace_id=self.workspace_id)

    async def _usage(self, index: int) -> None:
        events = [parse_event(e) for e in self.loaded.usage[index]]
        async with self.sessions.begin() as session:
            await usage_repo.add_events(session, self.workspace_id, events, self.loaded.catalog.credit_rules)

    async def _retry_open_invoices(self) -> None:
        """A new card during dunning tries every open invoice again at once (as the API does).

        Every invoice still being collected is asked (found by describing, not by a query:
        see `_workflow_ids`); one settled meanwhile has ended and refuses the signal.
        """
        subscription = workflow_id(self.workspace_id)
        for wf_id in await self._workflow_ids():
            if wf_id == subscription or wf_id in self._closed:
                continue
            handle = self.stack.env.client.get_workflow_handle(wf_id)
            with contextlib.suppress(RPCError):
                await handle.signal(InvoiceWorkflow.retry_now)

    # --- observing ---------------------------------------------------------------------

    async def state(self) -> BillingState:
        """The subscription's state (query: only once the engine has settled, see
        `_workflow_ids`; a stuck query is the watchdog's)."""
        return await self.handle.query(SubscriptionWorkflow.state)

    async def _workflow_ids(self) -> list[str]:
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
        client = self.stack.env.client
        request = DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=wf_id)
        )
        try:
            return await client.workflow_service.describe_workflow_execution(request)
        except RPCError:
            return None  # not started yet, or gone

    async def _busy(self) -> bool:
        """Whether any of the workspace's workflows has work outstanding."""
        for wf_id in await self._workflow_ids():
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
        return False

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

    async def _terminate(self) -> None:
        """Stop what is still running: a shared server must not keep our timers firing."""
        client = self.stack.env.client
        for wf_id in await self._workflow_ids():
            with contextlib.suppress(RPCError):  # already finished
                await client.get_workflow_handle(wf_id).terminate("simulation finished")


async def simulate(
    loaded: LoadedScenario,
    stack: Stack | None = None,
    *,
    stable: bool = False,
    progress: Progress = no_progress,
    interrupted: threading.Event | None = None,
) -> dict[str, Any]:
    """Run ``loaded`` on ``stack`` (None: a private stack, stopped before returning).

    Args:
        stable: replace Stripe's generated ids with placeholders (`report.stable_ids`).
        progress: told what is happening, one short line at a time.
        interrupted: set it (from a signal handler) to stop the run at its next poll.

    Raises:
        SimulationError: the run could not go on (a refused step is reported, not raised).
    """
    if stack is None:
        async with private_stack(progress) as own:
            return await simulate(loaded, own, stable=stable, progress=progress, interrupted=interrupted)
    document = await Run(loaded, stack, progress, interrupted or threading.Event()).execute()
    return report.stable_ids(document) if stable else document

"""Run a checked scenario on a stack: real workers, real workflows, real activities (SPEC §7).

The workers are composed exactly as the production worker composes them
(`worker.main.build_workers`). The workspace is registered and given its test card the
way the product does it, the subscription starts at the scenario's ``start``, and each
step is sent at its instant as the Update (or, for usage and cards, the write) that
production would receive. A step the engine refuses is recorded under ``rejected`` and
the run goes on. At ``end`` the report is read from the database and the workflow.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import stripe
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle

from activities.stripe_gateway import StripeGateway, stripe_client
from billing.retention import earliest_admin
from billing.state import BillingState, Member
from client.tenure import TenureClient, TenureError
from config.settings import Settings
from db.engine import session_factory
from devstack.test_cards import give_test_card
from services import build_services
from simulate import report
from simulate.clock import SimulatedClock
from simulate.engine import Engine
from simulate.postgres import PostgresStart
from simulate.scenario import LoadedScenario
from simulate.setup import STAFF, workspace_setup
from simulate.stack import Progress, Stack, no_progress, private_stack
from simulate.steps import Step, step_command
from simulate.watchdog import SimulationInterrupted, guarded, stall_timeout
from worker.main import build_workers
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

STRIPE_KEY = "sk_test_tenure_simulate"
# Stripe's test cards: a card that works, one declined at every charge, one whose every
# off-session charge needs 3-D Secure (the customer must pay on the hosted page).
CARDS = {
    "ok": "pm_card_visa",
    "declined": "pm_card_chargeCustomerFail",
    "needs_authentication": "pm_card_authenticationRequired",
}


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
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.stack.engine)
        self.gateway = StripeGateway(stripe_client(STRIPE_KEY, self.stack.stripe_url, timeout_s=10))
        self.browser = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": self.stack.stripe_url})
        self.clock = SimulatedClock(self.stack.env)
        self.client = TenureClient(self.stack.env.client, self.queue, f"{self.queue}-stripe")
        self.engine = Engine(self.stack.env.client, self.workspace_id, self.interrupted)

        async def client() -> TenureClient:
            return self.client

        # The API's own services: usage, registration and card retries take its path.
        self.services = build_services(self.stack.engine, client, self.gateway, self.loaded.catalog)
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
                    await guarded(self.engine.terminate(), "stopping the simulation's workflows", limit)
                raise
            await guarded(self.engine.terminate(), "stopping the simulation's workflows", limit)
            return document

    async def _at_step(self, index: int, step: Step) -> None:
        if self.interrupted.is_set():
            raise SimulationInterrupted("interrupted")
        await self.clock.advance_to(step.at)
        await self.settle()
        await self.engine.let_due_timers_fire(self.stack.env)
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

    async def _start(self) -> None:
        scenario = self.loaded.scenario
        setup = workspace_setup(self.loaded, self.workspace_id)
        await self.services.workspaces.store(setup)
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
        members = (await self.services.entities.snapshot(self.workspace_id)).members
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
        actor = await self._actor(step)
        command = step_command(index, step, actor, staff=STAFF, workspace_id=self.workspace_id)
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

    async def _usage(self, index: int) -> None:
        # The API's parser and writer: a repeated id keeps its first occurrence, as over HTTP.
        await self.services.usage.ingest_events(self.workspace_id, self.loaded.usage[index])

    async def _retry_open_invoices(self) -> None:
        """A new card during dunning tries every open invoice again at once (the API's rule)."""
        await self.services.billing.retry_open_invoices(self.workspace_id)

    # --- observing ---------------------------------------------------------------------

    async def settle(self) -> None:
        """Wait until what this instant started is done (`Engine.settle`)."""
        await self.engine.settle()

    async def state(self) -> BillingState:
        """The subscription's state (query: only once the engine has settled, see
        `simulate.engine`; a stuck query is the watchdog's)."""
        return await self.handle.query(SubscriptionWorkflow.state)


async def simulate(
    loaded: LoadedScenario,
    stack: Stack | None = None,
    *,
    stable: bool = False,
    progress: Progress = no_progress,
    interrupted: threading.Event | None = None,
    postgres_start: PostgresStart | None = None,
) -> dict[str, Any]:
    """Run ``loaded`` on ``stack`` (None: a private stack, stopped before returning).

    Args:
        stable: replace Stripe's generated ids with placeholders (`report.stable_ids`).
        progress: told what is happening, one short line at a time.
        interrupted: set it (from a signal handler) to stop the run at its next poll.
        postgres_start: the private stack's PostgreSQL, already starting (`tenure simulate`
            starts it before importing this module); the private stack owns it.

    Raises:
        SimulationError: the run could not go on (a refused step is reported, not raised).
    """
    if stack is None:
        async with private_stack(progress, postgres_start) as own:
            return await simulate(loaded, own, stable=stable, progress=progress, interrupted=interrupted)
    document = await Run(loaded, stack, progress, interrupted or threading.Event()).execute()
    return report.stable_ids(document) if stable else document

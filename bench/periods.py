"""History events per billing period: a side experiment on Temporal's time-skipping server.

The dev server cannot skip a month, so the benchmark drives a few seats subscriptions
through four monthly periods on the time-skipping test server, with the real workers and
activities on the benchmark's PostgreSQL and an in-process Stripe emulator, and counts the
events of each run (the subscription continues as new at every period boundary, so one run
= one period). Each workspace has a ``pm_card_visa`` card, so its invoice workflows collect
every invoice through the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from bench.payments import Cards, gateway, stripe_queue
from billing import AssignSeat, Member, UnassignSeat, add_months, load_catalog
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from devstack.stripe_emulator.server import EmulatorServer
from devstack.timeskip import time_skipping_server
from services.workspaces import store_workspace
from worker.composition import build_workers
from workflows.invoice import invoice_workflow_id
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

ANCHOR = datetime(2026, 9, 3, 9, tzinfo=UTC)
PERIODS = 4
# Collection is a few activities against a local emulator; time does not move while we wait
# (the test server skips time only inside `advance_to`), so this bound is wall-clock slack.
COLLECTION_WAIT_S = 30.0


@dataclass(frozen=True)
class PeriodFigures:
    """Events per run of the side experiment."""

    quiet_per_period: float  # median over full periods: renewal, invoice, payment
    busy_per_period: float  # the same plus one seat assigned and one unassigned
    max_run_events: int  # longest run of both subscriptions, checkout included
    runs: dict[str, list[int]]  # events of every run, per subscription


class _Subscription:
    """One seats subscription on the time-skipping server, on the scenario's calendar."""

    def __init__(
        self, env: WorkflowEnvironment, engine: AsyncEngine, cards: Cards, queue: str, ws: str
    ) -> None:
        self.env = env
        self.engine = engine
        self.cards = cards
        self.queue = queue
        self.ws = ws
        self.offset = timedelta(0)
        self.handle: WorkflowHandle[SubscriptionWorkflow, str] | None = None
        self._n = 0

    async def start(self) -> None:
        users = ["admin", *(f"m{i}" for i in range(4))]
        roles = {u: "admin" if u == "admin" else "member" for u in users}
        setup = WorkspaceSetup(
            workspace_id=self.ws,
            billing_contact_email="billing@bench.test",
            members=[WorkspaceMember(user_id=u, role=roles[u], role_granted_at=ANCHOR) for u in users],
        )
        await store_workspace(session_factory(self.engine), setup)
        await self.cards.give(self.ws)
        self.offset = ANCHOR - await self.env.get_current_time()
        self.handle = await self.env.client.start_workflow(
            SubscriptionWorkflow.run,
            SubscriptionStart(
                workspace_id=self.ws,
                catalog=load_catalog("seats"),
                members={u: Member(role=roles[u], role_granted_at=ANCHOR) for u in users},
                stripe_task_queue=stripe_queue(self.queue),
                clock_offset_seconds=round(self.offset.total_seconds()),
            ),
            id=workflow_id(self.ws),
            task_queue=self.queue,
        )

    def _request(self) -> str:
        self._n += 1
        return f"{self.ws}-{self._n}"

    async def assign(self, user: str) -> None:
        assert self.handle is not None
        command = AssignSeat(request_id=self._request(), actor="admin", user=user, seat_type="pro")
        await self.handle.execute_update(command.kind, command, id=command.request_id)

    async def unassign(self, user: str) -> None:
        assert self.handle is not None
        command = UnassignSeat(request_id=self._request(), actor="admin", user=user)
        await self.handle.execute_update(command.kind, command, id=command.request_id)

    async def stop(self) -> None:
        """Terminate the subscription and its invoices' workflows: the clock is shared, and a
        later subscription's time skipping must not move them on (an invoice being dunned
        would signal a subscription that is gone)."""
        assert self.handle is not None
        numbers = [i.number for i in (await self.handle.query(SubscriptionWorkflow.state)).invoices]
        await self.handle.terminate(reason="bench done")
        for number in numbers:
            # Collected invoices' workflows have completed already: "not found" is expected.
            with contextlib.suppress(RPCError):
                await self.env.client.get_workflow_handle(invoice_workflow_id(number)).terminate("bench done")

    async def advance_to(self, at: datetime) -> None:
        gap = at - (await self.env.get_current_time() + self.offset)
        if gap > timedelta(0):
            await self.env.sleep(gap)

    async def pay_all(self) -> None:
        """Wait until every posted invoice is collected (its workflow charges the card on file)."""
        assert self.handle is not None
        loop = asyncio.get_running_loop()
        give_up = loop.time() + COLLECTION_WAIT_S
        while True:
            invoices = (await self.handle.query(SubscriptionWorkflow.state)).invoices
            if not any(i.status in {"unpaid", "overdue"} for i in invoices):
                return
            if loop.time() > give_up:
                raise RuntimeError(
                    f"{self.ws}: invoices not collected within {COLLECTION_WAIT_S:.0f} s: {invoices}"
                )
            await asyncio.sleep(0.05)


async def _run_events(client: Client, wf_id: str, first_run_id: str) -> list[int]:
    """Events of every run, following the continue-as-new chain from the first run."""
    counts: list[int] = []
    run_id: str | None = first_run_id
    while run_id is not None:
        history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        counts.append(len(history.events))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return counts


async def _drive(sub: _Subscription, busy: bool) -> list[int]:
    """Checkout with three seats, then PERIODS periods paid on time (busy: ±1 seat in each)."""
    await sub.start()
    for user in ("admin", "m0", "m1"):
        await sub.assign(user)
    await sub.advance_to(ANCHOR + timedelta(hours=3))
    await sub.pay_all()
    for n in range(PERIODS):
        start = add_months(ANCHOR, n).replace(hour=0)
        if busy:
            await sub.advance_to(start + timedelta(days=10))
            await sub.assign("m2")
            await sub.advance_to(start + timedelta(days=20))
            await sub.unassign("m2")
        await sub.advance_to(add_months(ANCHOR, n + 1).replace(hour=12))
        await sub.pay_all()
    await sub.advance_to(add_months(ANCHOR, PERIODS).replace(hour=23))
    assert sub.handle is not None
    assert sub.handle.first_execution_run_id is not None
    counts = await _run_events(sub.env.client, sub.handle.id, sub.handle.first_execution_run_id)
    await sub.stop()
    return counts


def _full_periods(counts: list[int]) -> list[int]:
    # Run 1 is the free workspace until checkout, run 2 the checkout period; the last run is
    # still open. The runs in between each hold exactly one renewal period.
    return counts[2:-1]


async def measure_periods(engine: AsyncEngine) -> PeriodFigures:
    """Drive a quiet and a busy subscription through PERIODS periods; count events per run."""
    with EmulatorServer() as emulator:
        async with time_skipping_server() as env:
            queue = f"bench-periods-{uuid.uuid4()}"
            payment_gateway = gateway(emulator.url)
            cards = Cards(emulator.url, engine)
            tenure, payments = build_workers(
                env.client, engine, payment_gateway, task_queue=queue, stripe_task_queue=stripe_queue(queue)
            )
            async with tenure, payments:
                tag = uuid.uuid4().hex[:6]
                quiet = await _drive(
                    _Subscription(env, engine, cards, queue, f"bench-quiet-{tag}"), busy=False
                )
                busy = await _drive(_Subscription(env, engine, cards, queue, f"bench-busy-{tag}"), busy=True)
    return PeriodFigures(
        quiet_per_period=statistics.median(_full_periods(quiet)),
        busy_per_period=statistics.median(_full_periods(busy)),
        max_run_events=max(quiet + busy),
        runs={"quiet": quiet, "busy": busy},
    )

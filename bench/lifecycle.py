"""Lifecycle benchmark (issue 4): live subscriptions receiving seat changes, against Temporal's ceiling.

``uv run python -m bench.lifecycle [--subscriptions 1000 --callers 64 --seconds 30 --rounds 3]``

1. Starts an embedded PostgreSQL, a Temporal dev server (SQLite file, UI off) and the Stripe
   emulator in a temporary directory on free ports, and Tenure's workers (main and Stripe
   task queues) in a separate process (with the bare ceiling workflow of `bench.ceiling`
   registered too).
2. Registers N seats workspaces (an admin and `MEMBERS` members each, a ``pm_card_visa``
   card each), starts their subscriptions and gives each admin a paid seat (checkout: each
   becomes an active Business subscription and continues as new into its first period).
   The in-advance invoice stays a draft for the catalog's ``invoice_draft_minutes`` (60),
   longer than a run, so no invoice is posted or collected here: `bench.periods` is where
   invoices go through Stripe.
3. Measured phase (A): C callers, each picking a random subscription and sending a valid
   `assign_seat`/`unassign_seat` Update (seat holders tracked client-side), for S seconds.
4. Ceiling phase (B), same run: the same callers against N bare workflows whose Update runs
   one no-op activity. A and B alternate for R rounds (A B A B A B by default); each round's
   ratio is A / B, and the line reports their median and spread (issue 17: one pair of
   phases minutes apart measured the shared machine, 0.66 - 1.2).
5. Worker RSS per cached subscription: (worker RSS with all N subscriptions cached - worker
   RSS before the first one started) / N.
6. History events per billing period: `bench.periods` (time-skipping side experiment); the
   longest run on the dev server is read from visibility (`history_length` of every run).

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.ceiling import BareEntityWorkflow
from bench.lifecycle_report import Rounds, result_line
from bench.load import PhaseResult, bounded, closed_loop
from bench.payments import Cards, stripe_queue
from bench.periods import PERIODS, measure_periods
from bench.stack import Stack, WorkerProcess, log, run_on_stack
from billing import AssignSeat, Catalog, Member, UnassignSeat, load_catalog, seats_held
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import WorkspaceSetup
from db.engine import async_engine, session_factory
from services.workspaces import store_workspace
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

MEMBERS = 30  # per workspace besides the admin: plenty of valid seat changes, far below max_seats
ADMIN = "admin"
SETUP_CONCURRENCY = 32
T = TypeVar("T")


@dataclass
class Workspace:
    """One benchmark workspace: its subscription and who holds a seat, as the client knows it."""

    handle: WorkflowHandle[SubscriptionWorkflow, str]
    holders: set[str]
    in_flight: set[str]


async def _retry(call: Callable[[], Awaitable[T]], attempts: int = 60) -> T:
    """``call()`` until it succeeds (a query before a run's first task can time out)."""
    for _ in range(attempts - 1):
        try:
            return await call()
        except Exception:
            await asyncio.sleep(1)
    return await call()


async def _for_all(items: list[T], job: Callable[[T], Awaitable[Any]]) -> None:
    async def one(item: T) -> None:
        await job(item)

    await bounded(SETUP_CONCURRENCY, [functools.partial(one, item) for item in items])


async def start_subscriptions(
    client: Client, engine: AsyncEngine, cards: Cards, queue: str, count: int, catalog: Catalog
) -> list[Workspace]:
    """Register ``count`` workspaces with a card each, start their subscriptions, wait until
    each has run."""
    tag = uuid.uuid4().hex[:6]
    ids = [f"bench-{tag}-{i:04d}" for i in range(count)]
    registry = session_factory(engine)
    since = datetime.now(UTC)
    roles = {ADMIN: "admin"} | {f"m{i:02d}": "member" for i in range(MEMBERS)}
    found: dict[str, Workspace] = {}

    async def create(ws: str) -> None:
        members = [WorkspaceMember(user_id=u, role=r, role_granted_at=since) for u, r in roles.items()]
        await store_workspace(registry, WorkspaceSetup(workspace_id=ws, members=members))
        await cards.give(ws)
        start = SubscriptionStart(
            workspace_id=ws,
            catalog=catalog,
            members={u: Member(role=r, role_granted_at=since) for u, r in roles.items()},
            stripe_task_queue=stripe_queue(queue),
        )
        handle = await client.start_workflow(
            SubscriptionWorkflow.run, start, id=workflow_id(ws), task_queue=queue
        )
        found[ws] = Workspace(handle=handle, holders=set(), in_flight=set())

    await _for_all(ids, create)
    workspaces = [found[ws] for ws in ids]
    await cache_all(workspaces)
    return workspaces


async def cache_all(workspaces: list[Workspace]) -> None:
    """One query per subscription: afterwards every current run is in the worker's cache."""
    await _for_all(workspaces, lambda w: _retry(lambda: w.handle.query(SubscriptionWorkflow.state)))


async def checkout(workspaces: list[Workspace]) -> None:
    """Give each admin a paid seat: every subscription becomes active Business."""

    async def one(w: Workspace) -> None:
        command = AssignSeat(request_id=str(uuid.uuid4()), actor=ADMIN, user=ADMIN, seat_type="pro")
        await w.handle.execute_update(command.kind, command, id=command.request_id)
        w.holders.add(ADMIN)

    await _for_all(workspaces, one)


def seat_changes(workspaces: list[Workspace]) -> Callable[[random.Random], Awaitable[bool]]:
    """A caller's operation: a valid assign or unassign on a random subscription."""

    async def resync(w: Workspace) -> None:
        state = await w.handle.query(SubscriptionWorkflow.state)
        w.holders = set(seats_held(state))

    async def operation(rng: random.Random) -> bool:
        w = workspaces[rng.randrange(len(workspaces))]
        free = [f"m{i:02d}" for i in range(MEMBERS) if f"m{i:02d}" not in w.in_flight]
        user = rng.choice(free)
        w.in_flight.add(user)
        request = str(uuid.uuid4())
        try:
            if user in w.holders:
                unassign = UnassignSeat(request_id=request, actor=ADMIN, user=user)
                await w.handle.execute_update(unassign.kind, unassign, id=request)
                w.holders.discard(user)
            else:
                assign = AssignSeat(request_id=request, actor=ADMIN, user=user, seat_type="pro")
                await w.handle.execute_update(assign.kind, assign, id=request)
                w.holders.add(user)
            return True
        except Exception as error:
            log(f"seat change failed on {w.handle.id}: {type(error).__name__}: {error}")
            await resync(w)
            return False
        finally:
            w.in_flight.discard(user)

    return operation


async def start_bare(client: Client, queue: str, count: int) -> list[WorkflowHandle[BareEntityWorkflow, int]]:
    """``count`` bare entities, each past its first workflow task."""
    tag = uuid.uuid4().hex[:6]
    handles: list[WorkflowHandle[BareEntityWorkflow, int]] = []

    async def start(i: int) -> None:
        handles.append(
            await client.start_workflow(BareEntityWorkflow.run, id=f"bare-{tag}-{i:04d}", task_queue=queue)
        )

    await _for_all(list(range(count)), start)
    await _for_all(handles, lambda h: _retry(lambda: h.query(BareEntityWorkflow.touched)))
    return handles


def touches(
    handles: list[WorkflowHandle[BareEntityWorkflow, int]],
) -> Callable[[random.Random], Awaitable[bool]]:
    """A caller's operation for the ceiling: an Update running one no-op activity."""

    async def operation(rng: random.Random) -> bool:
        await handles[rng.randrange(len(handles))].execute_update(BareEntityWorkflow.touch)
        return True

    return operation


async def longest_live_run(client: Client, workspaces: list[Workspace]) -> tuple[int, int]:
    """(events of the longest Subscription run on the dev server, number of runs).

    Closed runs (continued as new) come from visibility; the open ones from `describe()`,
    because visibility's ``history_length`` of a running workflow is not kept current.
    """
    longest = runs = 0
    async for execution in client.list_workflows(
        "WorkflowType = 'Subscription' AND ExecutionStatus != 'Running'"
    ):
        runs += 1
        longest = max(longest, execution.history_length)
    lengths: list[int] = []

    async def current(w: Workspace) -> None:
        lengths.append((await w.handle.describe()).history_length)

    await _for_all(workspaces, current)
    return max([longest, *lengths]), runs + len(lengths)


def _summary(phase: PhaseResult) -> str:
    return f"{phase.ops_per_s:.1f} ops/s, p50 {phase.percentile(50):.0f} ms, errors {phase.errors}"


async def _settle_rss(worker: WorkerProcess, seconds: float = 3.0) -> float:
    await asyncio.sleep(seconds)
    return worker.rss_mib()


async def bench(
    subscriptions: int, callers: int, seconds: float, rounds: int, stack: Stack
) -> dict[str, Any]:
    """Run every phase on a started stack; the result line as a dict."""
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    worker = stack.start_worker(queue, max_cached=2 * subscriptions + 100)
    client = await Client.connect(stack.temporal.address, data_converter=pydantic_data_converter)
    engine = async_engine(stack.postgres.url, pool_size=SETUP_CONCURRENCY)
    try:
        rss_before = await _settle_rss(worker)
        log(f"worker ready, RSS {rss_before:.1f} MiB; starting {subscriptions} subscriptions")
        began = time.monotonic()
        cards = Cards(stack.stripe.url, engine)
        catalog = load_catalog("seats")
        workspaces = await start_subscriptions(client, engine, cards, queue, subscriptions, catalog)
        log(f"started in {time.monotonic() - began:.0f} s; checkout (one paid seat each)")
        began = time.monotonic()
        await checkout(workspaces)
        await cache_all(workspaces)
        rss_after = await _settle_rss(worker)
        log(f"checkout done in {time.monotonic() - began:.0f} s, worker RSS {rss_after:.1f} MiB")

        log(f"ceiling: starting {subscriptions} bare entities")
        bare = await start_bare(client, queue, subscriptions)
        pairs = []
        for n in range(rounds):
            log(f"round {n + 1}: {callers} callers, {seconds:.0f} s of seat changes")
            measured = await closed_loop(callers, seconds, seat_changes(workspaces), seed=1 + 2 * n)
            log(f"  {_summary(measured)}")
            log(f"round {n + 1}: the same callers, {seconds:.0f} s of Updates running one no-op activity")
            ceiling = await closed_loop(callers, seconds, touches(bare), seed=2 + 2 * n)
            log(f"  {_summary(ceiling)}")
            pairs.append((measured, ceiling))
        live_longest, live_runs = await longest_live_run(client, workspaces)

        log(f"history: {PERIODS} periods of two seats subscriptions on the time-skipping server")
        periods = await measure_periods(engine)
    finally:
        await engine.dispose()
    return result_line(
        subscriptions,
        callers,
        seconds,
        Rounds(tuple(pairs)),
        (rss_after - rss_before) / subscriptions,
        periods,
        live_longest,
        live_runs,
    )


def main() -> None:
    """Parse arguments, run, print the JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.lifecycle", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--callers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each phase")
    parser.add_argument("--rounds", type=int, default=3, help="workload/ceiling pairs, alternated")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    run_on_stack(
        "tenure-bench-",
        Stack,
        lambda stack: bench(args.subscriptions, args.callers, args.seconds, args.rounds, stack),
    )


if __name__ == "__main__":
    main()

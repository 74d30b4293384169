"""`tenure simulate` benchmark (issue 7): one scenario's wall time, and a fleet's period throughput.

``uv run python -m bench.simulate [--runs 3 --subscriptions 200 --months 12]``

1. Scenario: the 12-month mixed scenario (`examples/scenarios/monthly-and-annual-seats-year.yaml`,
   13 invoices) run ``--runs`` times as `tenure simulate` runs it (private stack started and
   stopped each time: ``cold_s``), and ``--runs`` times on one warm stack (``warm_s``: the
   run alone). Then the `tenure simulate` command itself, a fresh process each time
   (``command_s``: wall time from spawn to exit, imports and stack included), alternated with
   the same command with this checkout's bytecode already compiled (``command_bytecode_s``:
   the environment may set PYTHONDONTWRITEBYTECODE, and then every start compiles Tenure's
   own modules from source), and the command's imports alone (``command_imports_s``).
   Goal: the command ≤ 5 s.
2. Fleet, in one time-skipping server with the real workers: N seats subscriptions (one
   monthly pro seat each, a ``pm_card_visa`` card) skip M months in one go; every renewal
   posts an invoice that is collected through the emulator. Throughput = N x M period-steps
   over the wall time of the skip (until every invoice is paid).
3. Ceiling, same run, same server: N bare workflows (`bench.periodic`) that sleep to each of
   the same M monthly instants and run one no-op activity there. ``ratio_to_ceiling`` =
   fleet / ceiling. Goal: ≥ 0.5.

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr
from temporalio.worker import Worker

from bench.payments import STRIPE_API_KEY, Cards, gateway
from bench.periodic import BarePeriodicWorkflow, period_noop
from bench.stack import log, print_result
from billing import AssignSeat, Member, add_months, load_catalog
from billing.workspace import Member as WorkspaceMember
from config.settings import Settings
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from services.workspaces import store_workspace
from simulate.clock import SimulatedClock
from simulate.runner import simulate
from simulate.scenario import load_scenario
from simulate.stack import Stack, private_stack
from worker.main import build_workers
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

SCENARIO = (
    Path(__file__).resolve().parents[1] / "examples" / "scenarios" / "monthly-and-annual-seats-year.yaml"
)
ANCHOR = datetime(2027, 3, 3, 9, tzinfo=UTC)
SETUP_CONCURRENCY = 16
T = TypeVar("T")


async def _bounded(items: list[T], call: Callable[[T], Awaitable[None]]) -> None:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(item: T) -> None:
        async with gate:
            await call(item)

    await asyncio.gather(*(one(i) for i in items))


async def _scenario_times(runs: int) -> dict[str, Any]:
    loaded = load_scenario(SCENARIO)
    cold = []
    for n in range(runs):
        started = time.perf_counter()
        document = await simulate(loaded)
        cold.append(time.perf_counter() - started)
        log(f"scenario cold run {n + 1}: {cold[-1]:.2f} s, {len(document['invoices'])} invoices")
    warm = []
    async with private_stack() as own:
        shared = Stack(env=own.env, engine=own.engine, stripe_url=own.stripe_url, private=False)
        for n in range(runs):
            started = time.perf_counter()
            await simulate(loaded, shared)
            warm.append(time.perf_counter() - started)
            log(f"scenario warm run {n + 1}: {warm[-1]:.2f} s")
    return {
        "scenario": SCENARIO.name,
        "scenario_cold_s": [round(s, 2) for s in cold],
        "scenario_cold_median_s": round(statistics.median(cold), 2),
        "scenario_warm_s": [round(s, 2) for s in warm],
        "scenario_warm_median_s": round(statistics.median(warm), 2),
    }


def _wall(argv: list[str], env: dict[str, str]) -> float:
    """Wall seconds of one process, spawn to exit; its output is kept only if it fails."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


# What `tenure simulate` imports before it starts a server (cli.main, then cli/simulate.py's _run).
COMMAND_IMPORTS = "import cli.main, simulate.runner, simulate.scenario, simulate.watchdog"


def _command_times(runs: int) -> dict[str, Any]:
    """`tenure simulate` of the scenario as a process, ``runs`` times each way, alternated."""
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        out = Path(tmp) / "report.json"
        command = [str(bin_dir / "tenure"), "simulate", str(SCENARIO), "--out", str(out)]
        imports = [sys.executable, "-c", COMMAND_IMPORTS]
        as_is = dict(os.environ)
        # The same command reading compiled bytecode from a private cache, written once here.
        cache = dict(as_is, PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"))
        _wall(command, {k: v for k, v in cache.items() if k != "PYTHONDONTWRITEBYTECODE"})
        figures: dict[str, list[float]] = {"command_s": [], "command_bytecode_s": [], "command_imports_s": []}
        for n in range(runs):
            figures["command_s"].append(_wall(command, as_is))
            figures["command_bytecode_s"].append(_wall(command, cache))
            figures["command_imports_s"].append(_wall(imports, as_is))
            log(
                f"command run {n + 1}: {figures['command_s'][-1]:.2f} s, with bytecode "
                f"{figures['command_bytecode_s'][-1]:.2f} s, imports {figures['command_imports_s'][-1]:.2f} s"
            )
        invoices = len(json.loads(out.read_text("utf-8"))["invoices"])
    result: dict[str, Any] = {"command_invoices": invoices}
    for name, times in figures.items():
        result[name] = [round(t, 2) for t in times]
        result[name.removesuffix("_s") + "_median_s"] = round(statistics.median(times), 2)
    result["pythondontwritebytecode"] = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    return result


async def _fleet(stack: Stack, subscriptions: int, months: int) -> float:
    """Wall seconds for N seats subscriptions to live M months (every invoice paid)."""
    catalog = load_catalog("seats")
    queue = f"bench-sim-{uuid.uuid4().hex[:8]}"
    settings = Settings(
        task_queue=queue,
        stripe_task_queue=f"{queue}-stripe",
        stripe_api_key=SecretStr(STRIPE_API_KEY),
        stripe_api_base=stack.stripe_url,
        max_cached_workflows=max(subscriptions * 3, 1000),
    )
    cards = Cards(stack.stripe_url, stack.engine)
    client = stack.env.client
    clock = SimulatedClock(stack.env)
    ids = [f"fleet-{uuid.uuid4().hex[:10]}" for _ in range(subscriptions)]
    main, payments = build_workers(client, settings, stack.engine, gateway(stack.stripe_url))
    async with main, payments:
        await clock.start_at(ANCHOR)

        async def prepare(ws: str) -> None:
            member = WorkspaceMember(user_id="admin", role="admin", role_granted_at=ANCHOR)
            await store_workspace(
                session_factory(stack.engine),
                WorkspaceSetup(workspace_id=ws, billing_contact_email="b@x.test", members=[member]),
            )
            await cards.give(ws)
            handle = await client.start_workflow(
                SubscriptionWorkflow.run,
                SubscriptionStart(
                    workspace_id=ws,
                    catalog=catalog,
                    members={"admin": Member(role="admin", role_granted_at=ANCHOR)},
                    stripe_task_queue=settings.stripe_task_queue,
                    clock_offset_seconds=clock.offset,
                ),
                id=workflow_id(ws),
                task_queue=queue,
            )
            seat = AssignSeat(request_id=f"{ws}-seat", actor="admin", user="admin", seat_type="pro")
            await handle.execute_update(seat.kind, seat)

        log(f"fleet: preparing {subscriptions} subscriptions")
        await _bounded(ids, prepare)
        # Checkout invoices post an hour later: let them go before the measured skip.
        await clock.advance_to(ANCHOR + timedelta(hours=2))
        await _wait_paid(stack, ids, 1)
        log(f"fleet: skipping {months} months")
        started = time.perf_counter()
        # Month by month: one skip of a year under load outlasts the test server's RPC timeout.
        for month in range(1, months + 1):
            await clock.advance_to(add_months(ANCHOR, month) + timedelta(hours=2))
            log(f"fleet: month {month} skipped at +{time.perf_counter() - started:.1f} s")
        await _wait_paid(stack, ids, months + 1)
        elapsed = time.perf_counter() - started
        for ws in ids:
            await client.get_workflow_handle(workflow_id(ws)).terminate("benchmark finished")
    return elapsed


async def _wait_paid(stack: Stack, ids: list[str], invoices: int) -> None:
    """Until each subscription has ``invoices`` invoices, all paid (collection runs in wall time)."""
    pending = list(ids)
    while pending:
        still = []
        for ws in pending:
            state = await stack.env.client.get_workflow_handle(workflow_id(ws)).query(
                SubscriptionWorkflow.state
            )
            if len(state.invoices) < invoices or any(i.status != "paid" for i in state.invoices):
                still.append(ws)
        pending = still
        if pending:
            await asyncio.sleep(0.5)


async def _ceiling(stack: Stack, subscriptions: int, months: int) -> float:
    """Wall seconds for N bare workflows to run M timer + no-op activity periods."""
    queue = f"bench-bare-{uuid.uuid4().hex[:8]}"
    client = stack.env.client
    server_now = await stack.env.get_current_time()
    # The same calendar as the fleet: monthly instants from the server's now.
    deadlines = [(server_now + (add_months(ANCHOR, m) - ANCHOR)).isoformat() for m in range(1, months + 1)]
    worker = Worker(
        client,
        task_queue=queue,
        workflows=[BarePeriodicWorkflow],
        activities=[period_noop],
        max_cached_workflows=max(subscriptions, 1000),
    )
    async with worker:
        handles = [
            await client.start_workflow(
                BarePeriodicWorkflow.run, deadlines, id=f"bare-{uuid.uuid4().hex}", task_queue=queue
            )
            for _ in range(subscriptions)
        ]
        started = time.perf_counter()
        end = datetime.fromisoformat(deadlines[-1]) + timedelta(hours=2)
        while (gap := end - await stack.env.get_current_time()).total_seconds() > 0:
            await stack.env.sleep(gap)
        for handle in handles:  # one after another: the test server dislikes 1,000 concurrent waits
            await handle.result()
        return time.perf_counter() - started


async def _fleet_figures(subscriptions: int, months: int) -> dict[str, Any]:
    async with private_stack() as stack:
        fleet_s = await _fleet(stack, subscriptions, months)
        steps = subscriptions * months
        log(f"fleet: {steps} period-steps in {fleet_s:.1f} s; ceiling next")
        ceiling_s = await _ceiling(stack, subscriptions, months)
    fleet_rate, ceiling_rate = steps / fleet_s, steps / ceiling_s
    return {
        "subscriptions": subscriptions,
        "months": months,
        "fleet_s": round(fleet_s, 1),
        "fleet_period_steps_per_s": round(fleet_rate, 1),
        "ceiling_s": round(ceiling_s, 1),
        "ceiling_period_steps_per_s": round(ceiling_rate, 1),
        "ratio_to_ceiling": round(fleet_rate / ceiling_rate, 3),
    }


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"name": "simulate"}
    if args.runs > 0:
        result |= await _scenario_times(args.runs)
        result |= await asyncio.to_thread(_command_times, args.runs)
    if args.subscriptions > 0:
        result |= await _fleet_figures(args.subscriptions, args.months)
    return result


def main() -> None:
    """Parse arguments, run, print one JSON line (Temporal's core logs to fd 1: kept off stdout)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3, help="runs of the scenario, cold and warm (0: skip)")
    parser.add_argument("--subscriptions", type=int, default=200, help="fleet size (0: skip the fleet)")
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args()
    print_result(_measure(args))


if __name__ == "__main__":
    main()

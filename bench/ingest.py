"""Usage ingestion benchmark (issue 8): events/s through the HTTP API against raw COPY, and the
overview endpoint's latency with 1,000 live subscriptions.

``uv run python -m bench.ingest [--runs 3 --batches 40 --batch-size 5000 --workspaces 1000]``

1. Starts an embedded PostgreSQL, a Temporal dev server and the Stripe emulator in a
   temporary directory on free ports, Tenure's workers in one process and the HTTP API
   (uvicorn, as `tenure api` serves it) in another, and issues a service token.
2. Ingestion, each run: ``usage_events`` emptied, then B batches of S fresh events (all seven
   kinds, spread over 10 workspaces) posted to ``POST /v1/workspaces/{id}/usage`` by 4
   concurrent callers, plus every fourth batch sent again (the idempotent path: all
   duplicates). Bodies are encoded before the clock starts. API events/s = events sent
   (replays included) / wall time.
3. Ceiling, same run: ``usage_events`` emptied again, and the same new rows written by COPY
   straight into ``usage_events`` from this process (one transaction per batch of S, the COPY
   data encoded before the clock starts).
4. Overview: W workspaces registered with running subscriptions (each past its first
   workflow task), then R ``GET /v1/workspaces/{id}/overview`` requests on random workspaces
   by C concurrent callers (1, then 4: latency alone and under load); p50 and p99 per run.

Medians over the runs. Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.ingest_batches import REPLAY_EVERY, batches_for, empty_usage, measure_api, measure_copy
from bench.load import bounded
from bench.payments import stripe_queue
from bench.stack import Stack, log, run_on_stack
from billing import Member, load_catalog
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import WorkspaceSetup
from db.engine import async_engine, session_factory
from db.tokens import issue
from devstack.ports import free_port
from devstack.process import ChildProcess
from services.workspaces import store_workspace
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

INGEST_WORKSPACES = 10


async def start_subscriptions(client: Client, engine: AsyncEngine, queue: str, count: int) -> list[str]:
    """``count`` registered workspaces with running subscriptions, each past its first task."""
    tag = uuid.uuid4().hex[:6]
    ids = [f"ov-{tag}-{i:04d}" for i in range(count)]
    registry = session_factory(engine)
    catalog = load_catalog("seats")
    since = datetime.now(UTC)

    async def create(ws: str) -> None:
        member = WorkspaceMember(user_id="admin", role="admin", role_granted_at=since)
        await store_workspace(registry, WorkspaceSetup(workspace_id=ws, members=[member]))
        start = SubscriptionStart(
            workspace_id=ws,
            catalog=catalog,
            members={"admin": Member(role="admin", role_granted_at=since)},
            stripe_task_queue=stripe_queue(queue),
        )
        handle = await client.start_workflow(
            SubscriptionWorkflow.run, start, id=workflow_id(ws), task_queue=queue
        )
        for _ in range(120):
            try:
                await handle.query(SubscriptionWorkflow.billing_overview)
                return
            except Exception:
                await asyncio.sleep(0.5)

    await bounded(32, [lambda ws=ws: create(ws) for ws in ids])  # type: ignore[misc]
    return ids


async def measure_overview(
    url: str, token: str, workspaces: list[str], requests: int, callers: int
) -> dict[str, Any]:
    """``requests`` overview GETs on random workspaces by ``callers`` concurrent callers."""
    rng = random.Random(8)
    picks = [rng.choice(workspaces) for _ in range(requests)]
    latencies: list[float] = []
    failures = 0
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:

        async def caller() -> None:
            nonlocal failures
            while picks:
                ws = picks.pop()
                started = time.perf_counter()
                answer = await client.get(f"/v1/workspaces/{ws}/overview")
                latencies.append(time.perf_counter() - started)
                failures += answer.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": requests,
        "failures": failures,
        "per_s": round(requests / wall, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
    }


def _api_process(stack: Stack, queue: str, port: int, lines: list[str]) -> ChildProcess:
    env = {
        **os.environ,
        "TENURE_DATABASE_URL": stack.postgres.url,
        "TEMPORAL_ADDRESS": stack.temporal.address,
        "TENURE_TASK_QUEUE": queue,
        "TENURE_STRIPE_TASK_QUEUE": stripe_queue(queue),
        "TENURE_CATALOG": "seats",
    }
    argv = [sys.executable, "-m", "bench.ingest", "--serve-api", str(port)]
    return ChildProcess("api", argv, lambda _, line: lines.append(line), env=env)


def serve_api(port: int) -> None:
    """The API as `tenure api` serves it (one uvicorn process), without access logs."""
    import uvicorn

    from api.app import create_app
    from config.settings import Settings

    uvicorn.run(create_app(Settings()), host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _wait_healthy(url: str, child: ChildProcess, lines: list[str]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            try:
                if (await client.get("/healthz")).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if not child.running():
                break
            await asyncio.sleep(0.2)
    raise RuntimeError("the API did not start:\n" + "\n".join(lines[-40:]))


async def _overview_runs(
    stack: Stack, engine: AsyncEngine, queue: str, url: str, token: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    client = await Client.connect(stack.temporal.address, data_converter=pydantic_data_converter)
    log(f"starting {args.workspaces} subscriptions")
    started = time.perf_counter()
    workspaces = await start_subscriptions(client, engine, queue, args.workspaces)
    log(f"{len(workspaces)} subscriptions running after {time.perf_counter() - started:.1f} s")
    overview_runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        figures = {
            str(callers): await measure_overview(url, token, workspaces, args.requests, callers)
            for callers in args.callers
        }
        overview_runs.append(figures)
        log(f"overview run {run + 1}: {figures}")
    return overview_runs


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Set up, run the ingestion and the overview measurements ``args.runs`` times each."""
    queue = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    stack.start_worker(queue, max_cached=max(2000, args.workspaces))
    engine = async_engine(stack.postgres.url, pool_size=10)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    api = _api_process(stack, queue, port, lines)
    api.start()
    try:
        await _wait_healthy(url, api, lines)
        async with session_factory(engine)() as session:
            token = (await session.run_sync(lambda s: issue(s, "bench ingest", "service"))).secret
            await session.commit()
        rules = load_catalog("seats").credit_rules
        ingest_ws = [f"ingest-{i:02d}" for i in range(INGEST_WORKSPACES)]
        registry = session_factory(engine)
        for ws in ingest_ws:
            await store_workspace(registry, WorkspaceSetup(workspace_id=ws))
        dsn = stack.postgres.url.replace("postgresql+psycopg://", "postgresql://")
        ingest_runs: list[dict[str, Any]] = []
        for run in range(args.runs):
            batches = batches_for(run, args.batches, args.batch_size, ingest_ws, rules)
            await empty_usage(dsn)
            via_api = await measure_api(url, token, batches, args.ingest_callers)
            await empty_usage(dsn)
            ceiling = await measure_copy(dsn, batches)
            ratio = via_api["events_per_s"] / ceiling["events_per_s"]
            ingest_runs.append({"api": via_api, "copy": ceiling, "ratio": round(ratio, 3)})
            log(f"ingest run {run + 1}: {via_api} against COPY {ceiling}: ratio {ratio:.3f}")
        overview_runs: list[dict[str, Any]] = []
        if args.workspaces > 0:
            overview_runs = await _overview_runs(stack, engine, queue, url, token, args)
    finally:
        api.stop()
        await engine.dispose()

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 3)

    return {
        "name": "ingest",
        "batch_size": args.batch_size,
        "batches": args.batches,
        "ingest_callers": args.ingest_callers,
        "replayed_batches": len(range(0, args.batches, REPLAY_EVERY)),
        "api_events_per_s": median([r["api"]["events_per_s"] for r in ingest_runs]),
        "copy_events_per_s": median([r["copy"]["events_per_s"] for r in ingest_runs]),
        "ratio_to_ceiling": median([r["ratio"] for r in ingest_runs]),
        "overview_workspaces": args.workspaces,
        "overview": {
            str(c): {
                "p50_ms": median([r[str(c)]["p50_ms"] for r in overview_runs]),
                "p99_ms": median([r[str(c)]["p99_ms"] for r in overview_runs]),
                "per_s": median([r[str(c)]["per_s"] for r in overview_runs]),
            }
            for c in args.callers
            if overview_runs
        },
        "ingest_runs": ingest_runs,
        "overview_runs": overview_runs,
    }


def main() -> None:
    """Parse arguments, run the benchmark on a fresh stack, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batches", type=int, default=40, help="fresh batches per run")
    parser.add_argument("--batch-size", type=int, default=5_000)
    parser.add_argument("--ingest-callers", type=int, default=4, help="concurrent ingestion callers")
    parser.add_argument(
        "--workspaces", type=int, default=1_000, help="live subscriptions for the overview (0: skip it)"
    )
    parser.add_argument("--requests", type=int, default=2_000, help="overview requests per run")
    parser.add_argument(
        "--callers", type=lambda v: [int(c) for c in v.split(",")], default=[1, 4], help="e.g. 1,4"
    )
    parser.add_argument("--serve-api", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_api is not None:
        serve_api(args.serve_api)
        return
    run_on_stack("tenure-bench-ingest-", Stack, lambda stack: measure(stack, args))


if __name__ == "__main__":
    main()

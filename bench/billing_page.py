"""Billing page benchmark (issue 16): the page's first render for a workspace with 24 invoices.

``uv run python -m bench.billing_page [--runs 3 --renders 200]``

1. Starts PostgreSQL, the Temporal dev server, the Stripe emulator and a worker
   (`bench.stack`), and the API as `tenure api` serves it, in a child process, with a portal
   secret. One `seats` subscription runs; 24 posted invoices (two years of months, every
   status) are written to its invoice table, as the invoice activities leave them.
2. Each run: R first renders. A render is what a member's browser does after following a
   fresh portal link: the link is issued and followed (not timed: that sets the session
   cookie), then ``GET /billing/{id}`` is timed, the page with everything on it (the
   subscription's overview query, the invoices, billing details, usage, the HTML).
   Interleaved with each render, the ceiling: ``GET /v1/workspaces/{id}/overview``, the same
   data as JSON by the same server (the page adds the session check and the template).
   ``ratio_to_ceiling`` = the overview's p99 ÷ the page's p99 (1.0: rendering costs nothing).

Goal: p99 ≤ 100 ms. Medians over the runs; one JSON line on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import insert
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.ingest import _wait_healthy, start_subscriptions
from bench.payments import stripe_queue
from bench.stack import Stack, log, run_on_stack
from db.engine import async_engine, session_factory
from db.invoice_models import InvoiceRow
from db.tokens import issue
from devstack.ports import free_port
from devstack.process import ChildProcess

INVOICES = 24
STATUSES = ["paid"] * 20 + ["overdue", "unpaid", "void", "paid"]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000, 1)


async def _invoices(engine: Any, ws: str, stripe_url: str) -> None:
    """Two years of posted invoices, newest last, in every display status."""
    start = datetime(2024, 12, 1, tzinfo=UTC)
    rows = []
    for n in range(INVOICES):
        issued = start + timedelta(days=31 * n)
        rows.append(
            {
                "number": f"{ws}-{n + 1:05d}",
                "workspace_id": ws,
                "issued_at": issued,
                "period_start": issued,
                "period_end": issued + timedelta(days=31),
                "currency": "usd",
                "total": 3000 * (1 + n % 4),
                "status": STATUSES[n],
                "stripe_invoice_id": f"in_bench_{uuid.uuid4().hex[:12]}",
                "stripe_status": "paid" if STATUSES[n] == "paid" else "open",
                "invoice_pdf": f"{stripe_url}/hosted/invoices/in_{n}/pdf",
                "hosted_invoice_url": f"{stripe_url}/hosted/invoices/in_{n}",
                "attempt_count": 1,
            }
        )
    async with session_factory(engine).begin() as session:
        await session.execute(insert(InvoiceRow), rows)


async def _one_run(url: str, token: str, ws: str, renders: int) -> dict[str, Any]:
    page_s: list[float] = []
    overview_s: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as backend:
        for _ in range(renders):
            link = (await backend.post(f"/v1/workspaces/{ws}/portal-sessions", json={"user": "admin"})).json()
            async with httpx.AsyncClient(base_url=url, timeout=60) as browser:
                await browser.get(link["url"].removeprefix(url))
                started = time.perf_counter()
                page = await browser.get(f"/billing/{ws}")
                page_s.append(time.perf_counter() - started)
                failures += page.status_code != 200 or page.text.count("data-invoice=") != INVOICES
            started = time.perf_counter()
            answer = await backend.get(f"/v1/workspaces/{ws}/overview")
            overview_s.append(time.perf_counter() - started)
            failures += answer.status_code != 200
    page_p99, overview_p99 = _percentile(page_s, 0.99), _percentile(overview_s, 0.99)
    return {
        "renders": renders,
        "failures": failures,
        "page_p50_ms": _percentile(page_s, 0.5),
        "page_p99_ms": page_p99,
        "overview_p50_ms": _percentile(overview_s, 0.5),
        "overview_p99_ms": overview_p99,
        "ratio": round(overview_p99 / page_p99, 3),
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Set up one workspace with 24 invoices, then ``args.runs`` runs of first renders."""
    queue = f"bench-page-{uuid.uuid4().hex[:6]}"
    stack.start_worker(queue, max_cached=100)
    engine = async_engine(stack.postgres.url, pool_size=4)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    env = {
        **os.environ,
        "TENURE_DATABASE_URL": stack.postgres.url,
        "TEMPORAL_ADDRESS": stack.temporal.address,
        "TENURE_TASK_QUEUE": queue,
        "TENURE_STRIPE_TASK_QUEUE": stripe_queue(queue),
        "TENURE_CATALOG": "seats",
        "TENURE_PORTAL_SECRET": "bench-portal-secret-" + "x" * 32,
        "TENURE_LOG_LEVEL": "WARNING",
    }
    api = ChildProcess(
        "api",
        [sys.executable, "-m", "bench.ingest", "--serve-api", str(port)],
        lambda _, line: lines.append(line),
        env=env,
    )
    api.start()
    runs: list[dict[str, Any]] = []
    try:
        await _wait_healthy(url, api, lines)
        client = await Client.connect(stack.temporal.address, data_converter=pydantic_data_converter)
        (ws,) = await start_subscriptions(client, engine, queue, 1)
        await _invoices(engine, ws, stack.stripe.url)
        async with session_factory(engine)() as session:
            token = (await session.run_sync(lambda s: issue(s, "bench billing page", "service"))).secret
            await session.commit()
        await _one_run(url, token, ws, 10)  # warm-up: imports, templates, connections
        for run in range(args.runs):
            figures = await _one_run(url, token, ws, args.renders)
            runs.append(figures)
            log(f"run {run + 1}: {figures}")
    finally:
        api.stop()
        await engine.dispose()

    def median(key: str) -> float:
        return round(float(statistics.median(float(r[key]) for r in runs)), 3)

    return {
        "name": "billing_page",
        "invoices": INVOICES,
        "renders_per_run": args.renders,
        "page_p50_ms": median("page_p50_ms"),
        "page_p99_ms": median("page_p99_ms"),
        "overview_p99_ms": median("overview_p99_ms"),
        "ratio_to_ceiling": median("ratio"),
        "goal_p99_ms": 100,
        "failures": sum(r["failures"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    """Parse arguments, run on a fresh stack, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--renders", type=int, default=200, help="first renders per run")
    args = parser.parse_args()
    run_on_stack("tenure-bench-page-", Stack, lambda stack: measure(stack, args))


if __name__ == "__main__":
    main()

"""What `bench.invoice_storm` watches besides the invoices table: Stripe's request rate and the
worker's memory while the storm drains, and the workflow histories of a sample afterwards."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.invoice_drain import emulator_stats
from bench.stack import WorkerProcess
from contracts.invoices import invoice_workflow_id
from workflows.messages import workflow_id

SAMPLE_S = 0.5


@dataclass
class DrainProbe:
    """Samples, every `SAMPLE_S`, the emulator's request counter and the worker's RSS."""

    stripe_url: str
    worker: WorkerProcess | None
    w_monotonic: float  # time.monotonic() at W
    samples: list[tuple[float, int]] = field(default_factory=list)  # (s after W, requests so far)
    peak_rss_mib: float = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Sample until ``stop`` is set (errors of one sample are skipped: the box is busy)."""
        while not stop.is_set():
            try:
                stats = await emulator_stats(self.stripe_url)
                self.samples.append((time.monotonic() - self.w_monotonic, stats["requests"]))
                if self.worker is not None:
                    self.peak_rss_mib = max(self.peak_rss_mib, self.worker.rss_mib())
            except Exception:  # one lost sample is not worth failing the run
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), SAMPLE_S)

    def requests_at(self, after_s: float) -> float | None:
        """Requests seen by ``after_s`` after W, interpolated between samples."""
        if len(self.samples) < 2:
            return None
        times = [t for t, _ in self.samples]
        i = bisect.bisect_left(times, after_s)
        if i == 0:
            return float(self.samples[0][1])
        if i >= len(times):
            return float(self.samples[-1][1])
        (t0, r0), (t1, r1) = self.samples[i - 1], self.samples[i]
        return r0 + (r1 - r0) * ((after_s - t0) / (t1 - t0) if t1 > t0 else 0.0)

    def steady_rate(self, paid_after_s: list[float]) -> float | None:
        """Stripe requests per second between the 10th and 90th percentile of completions
        (the same window as `bench.invoice_drain.steady_rate`)."""
        n = len(paid_after_s)
        if n < 10:
            return None
        lo, hi = paid_after_s[round(0.1 * (n - 1))], paid_after_s[round(0.9 * (n - 1))]
        a, b = self.requests_at(lo), self.requests_at(hi)
        return (b - a) / (hi - lo) if a is not None and b is not None and hi > lo else None


_COUNTED = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED: "workflow_tasks",
    EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT: "workflow_task_timeouts",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continue_as_new",
}


async def _count_history(
    client: Client, wid: str, run_id: str | None, w: datetime, into: Counter[str]
) -> None:
    handle = client.get_workflow_handle(wid, run_id=run_id)
    async for event in handle.fetch_history_events():
        name = _COUNTED.get(event.event_type)
        if name is not None and event.event_time.ToDatetime().timestamp() >= w.timestamp():
            into[name] += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            into["workflow_task_timeouts_any_time"] += 1


async def renewal_costs(
    client: Client, engine: AsyncEngine, ids: list[str], w: datetime, sample: int
) -> dict[str, Any]:
    """Workflow tasks, timeouts, activities and continue-as-new per renewal, read from the
    histories of ``sample`` random workspaces: every run of the subscription workflow and the
    renewal's invoice workflow, events at or after W only."""
    chosen = random.Random(7).sample(ids, min(sample, len(ids)))
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT workspace_id, number FROM invoices WHERE workspace_id = ANY(:ids)"), {"ids": chosen}
        )
        numbers = [number for _, number in rows.all()]
    totals: Counter[str] = Counter()
    gate = asyncio.Semaphore(16)

    async def subscription(ws: str) -> None:
        async with gate:
            async for run in client.list_workflows(f"WorkflowId = '{workflow_id(ws)}'"):
                await _count_history(client, run.id, run.run_id, w, totals)

    async def invoice(number: str) -> None:
        async with gate:
            await _count_history(client, invoice_workflow_id(number), None, w, totals)

    await asyncio.gather(*(subscription(ws) for ws in chosen), *(invoice(n) for n in numbers))
    per = len(chosen)
    return {
        "history_sample": per,
        "workflow_tasks_per_renewal": round(totals["workflow_tasks"] / per, 2) if per else None,
        "activities_per_renewal": round(totals["activities"] / per, 2) if per else None,
        "continue_as_new_per_renewal": round(totals["continue_as_new"] / per, 2) if per else None,
        "workflow_task_timeouts_in_sample": totals["workflow_task_timeouts"],
        "workflow_task_timeouts": round(totals["workflow_task_timeouts"] * len(ids) / per) if per else None,
    }

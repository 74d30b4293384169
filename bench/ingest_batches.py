"""The ingestion half of `bench.ingest`: event batches, posted through the API or copied raw."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from billing.usage import CreditRules, ServerlessMinutes, UsageEvent, credit_cost
from db.usage_ingest import UsageRow, copy_encoded, encode_rows

REPLAY_EVERY = 4
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _raw_event(event_id: str, n: int) -> dict[str, Any]:
    at = (T0 + timedelta(seconds=n)).isoformat().replace("+00:00", "Z")
    base: dict[str, Any] = {"id": event_id, "at": at}
    match n % 7:
        case 0:
            return base | {"kind": "asset_materialization", "partitions": 1 + n % 500}
        case 1:
            return base | {"kind": "asset_materialization", "partitions": 3, "step_execution": False}
        case 2:
            return base | {"kind": "observable_source_execution"}
        case 3:
            return base | {"kind": "dynamic_partitions_added", "count": 500}
        case 4:
            return base | {"kind": "asset_observation"}
        case 5:
            return base | {"kind": "sensor_evaluation"}
        case _:
            return base | {"kind": "serverless_minutes", "minutes": 1 + n % 60}


class Batch:
    """One batch: its workspace, its encoded body and its rows as the ceiling copies them."""

    def __init__(self, workspace: str, events: list[dict[str, Any]], rules: CreditRules) -> None:
        from pydantic import TypeAdapter

        self.workspace = workspace
        self.body = json.dumps({"events": events}).encode()
        parsed = TypeAdapter(list[UsageEvent]).validate_python(events)
        self.rows = [
            UsageRow(
                workspace,
                e.id,
                e.kind,
                e.at,
                credit_cost(e, rules),
                e.minutes if isinstance(e, ServerlessMinutes) else 0,
                e.model_dump_json(),
            )
            for e in parsed
        ]


def batches_for(run: int, count: int, size: int, workspaces: list[str], rules: CreditRules) -> list[Batch]:
    tag = uuid.uuid4().hex[:6]
    return [
        Batch(
            workspaces[b % len(workspaces)],
            [_raw_event(f"{tag}-{b}-{i}", b * size + i) for i in range(size)],
            rules,
        )
        for b in range(count)
    ]


async def empty_usage(database_url: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("TRUNCATE usage_events")
        await conn.execute("VACUUM ANALYZE usage_events")


async def measure_api(url: str, token: str, batches: list[Batch], callers: int) -> dict[str, Any]:
    """Post every batch (and every REPLAY_EVERY-th again); events/s over the wall time."""
    sends = list(batches) + batches[::REPLAY_EVERY]
    queue = list(enumerate(sends))
    results: dict[str, int] = {"received": 0, "new": 0, "duplicates": 0}
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:

        async def caller() -> None:
            while queue:
                _, batch = queue.pop(0)
                started = time.perf_counter()
                answer = await client.post(f"/v1/workspaces/{batch.workspace}/usage", content=batch.body)
                latencies.append(time.perf_counter() - started)
                answer.raise_for_status()
                for key in results:
                    results[key] += answer.json()[key]

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        wall = time.perf_counter() - started
    new_expected = sum(len(b.rows) for b in batches)
    if results["new"] != new_expected or results["received"] != sum(len(b.rows) for b in sends):
        raise RuntimeError(f"ingestion counted {results}, expected {new_expected} new")
    return {
        "events": results["received"],
        "new": results["new"],
        "duplicates": results["duplicates"],
        "seconds": round(wall, 3),
        "events_per_s": round(results["received"] / wall),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
    }


async def measure_copy(database_url: str, batches: list[Batch]) -> dict[str, Any]:
    """The same rows by COPY straight into ``usage_events``, one transaction per batch, their
    COPY data encoded before the clock starts: PostgreSQL's own COPY speed."""
    encoded = [encode_rows(batch.rows) for batch in batches]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        started = time.perf_counter()
        for data in encoded:
            async with conn.transaction():
                await copy_encoded(conn, "usage_events", data)
        wall = time.perf_counter() - started
    events = sum(len(b.rows) for b in batches)
    return {"events": events, "seconds": round(wall, 3), "events_per_s": round(events / wall)}

"""Entitlement checks benchmark (issue 15): checks/s and latency over HTTP with 1,000 workspaces.

``uv run python -m bench.entitlements [--runs 3 --workspaces 1000 --requests 6000 --callers 4]``

1. Starts an embedded PostgreSQL in a temporary directory on a free port and migrates it;
   registers W workspaces and writes each one's decision records with `write_decision`, as
   the workflow does (the projection and its events included): a third on business with a
   paid seat, connectors and spaces spread over every count. No Temporal runs at all: the
   API is pointed at a Temporal address nobody listens on, so the path provably needs none.
2. Serves the API as `tenure api` does (one uvicorn process, access log off) in a child.
3. Each run: R checks (``POST …/entitlements/check``: features and the four limits, on random
   workspaces) by C concurrent callers on keep-alive connections (`bench.entitlements_load`);
   p50/p99 latency per check and checks/s. Then, in the same run, the ceilings: the same R
   requests on a trivial endpoint of the same server (``GET /docs``, no database, no
   authentication), and the check's SQL statement straight on PostgreSQL by C connections.
   ``ratio_to_ceiling`` = checks/s ÷ the trivial endpoint's requests/s.

Medians over the runs. Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from activities.decision import write_decision
from bench.entitlements_load import closed_loop, get, post
from bench.ingest import serve_api
from billing import COMMAND_ADAPTER, apply, load_catalog, new_subscription
from billing.state import Member
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import ConnectionSetup, WorkspaceSetup
from db.engine import async_engine, session_factory
from db.entitlement_checks import STATEMENTS
from db.migrate import upgrade
from db.tokens import hash_token, issue
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.process import ChildProcess
from services.workspaces import store_workspace
from workflows.record import build_record

SEATS = load_catalog("seats")
AT = datetime(2026, 9, 3, 9, tzinfo=UTC)
BODIES = [
    {"feature": "sso"},
    {"limit": "members", "quantity": 1},
    {"limit": "connectors", "quantity": 1},
    {"limit": "spaces", "quantity": 2},
    {"limit": "paid_seats", "quantity": 1},
]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _register(sessions: Any, index: int) -> str:
    ws = f"ent-{index:04d}"
    users = [f"u{n}" for n in range(1 + index % 5)]
    members = [
        WorkspaceMember(user_id=u, role="admin" if u == "u0" else "member", role_granted_at=AT) for u in users
    ]
    connections = [ConnectionSetup(id=f"c{n}", kind="notion") for n in range(index % 5)]
    await store_workspace(
        sessions, WorkspaceSetup(workspace_id=ws, members=members, connections=connections, spaces=index % 7)
    )
    roster = {m.user_id: Member(role=m.role, role_granted_at=AT) for m in members}
    decision = new_subscription(ws, SEATS, AT, roster)
    records = [build_record(decision.state, decision.state, decision.effects, SEATS, AT, 1)]
    if index % 3 == 0:  # the checkout: business with one paid seat
        command = COMMAND_ADAPTER.validate_python(
            {"kind": "assign_seat", "request_id": "bench", "user": "u0", "type": "pro"}
        )
        paid = apply(decision.state, command, AT, SEATS)
        records.append(build_record(decision.state, paid.state, paid.effects, SEATS, AT, 2, command))
    async with sessions.begin() as session:
        for record in records:
            await write_decision(session, record)
    return ws


async def populate(url: str, count: int) -> tuple[list[str], str]:
    """``count`` workspaces with their projections, and a service token."""
    engine = async_engine(url, pool_size=8)
    sessions = session_factory(engine)
    ids: list[str] = []
    for start in range(0, count, 8):
        ids += await asyncio.gather(*(_register(sessions, i) for i in range(start, min(start + 8, count))))
    async with sessions() as session:
        token = (await session.run_sync(lambda s: issue(s, "bench entitlements", "service"))).secret
        await session.commit()
    await engine.dispose()
    return ids, token


async def sql_ceiling(dsn: str, token: str, picks: list[str], callers: int) -> dict[str, Any]:
    """The connectors check's own statement (token included) straight on PostgreSQL."""
    sql, hashed = STATEMENTS["connectors"], hash_token(token)
    queue = list(picks)
    latencies: list[float] = []
    connections = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(callers)]

    async def caller(conn: psycopg.AsyncConnection[Any]) -> None:
        while queue:
            ws = queue.pop()
            started = time.perf_counter()
            await (
                await conn.execute(sql, {"token_hash": hashed, "workspace_id": ws}, prepare=True)
            ).fetchone()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(caller(c) for c in connections))
    wall = time.perf_counter() - started
    for conn in connections:
        await conn.close()
    latencies.sort()
    return {
        "per_s": round(len(picks) / wall, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def _wait_serving(url: str, child: ChildProcess, lines: list[str]) -> None:
    # Not /healthz: it reports the (absent) Temporal as unavailable, on purpose here.
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(300):
            try:
                if (await client.get("/docs")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if not child.running():
                break
            await asyncio.sleep(0.2)
    raise RuntimeError("the API did not start:\n" + "\n".join(lines[-40:]))


async def measure(pg: EmbeddedPostgres, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    workspaces, token = await populate(pg.url, args.workspaces)
    log(f"{len(workspaces)} workspaces with projections in {time.perf_counter() - started:.1f} s")
    port = free_port()
    env = {
        **os.environ,
        "TENURE_DATABASE_URL": pg.url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # nobody listens: no Temporal on the path
        "TENURE_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "TENURE_CATALOG": "seats",
    }
    lines: list[str] = []
    api = ChildProcess(
        "api",
        [sys.executable, "-m", "bench.entitlements", "--serve-api", str(port)],
        lambda _, x: lines.append(x),
        env=env,
    )
    api.start()
    runs: list[dict[str, Any]] = []
    try:
        await _wait_serving(f"http://127.0.0.1:{port}", api, lines)
        rng = random.Random(15)
        dsn = pg.url.replace("postgresql+psycopg://", "postgresql://")

        def checks() -> tuple[list[bytes], list[str]]:
            picks = [rng.choice(workspaces) for _ in range(args.requests)]
            encoded = [
                post(
                    f"/v1/workspaces/{ws}/entitlements/check", json.dumps(rng.choice(BODIES)).encode(), token
                )
                for ws in picks
            ]
            return encoded, picks

        warm, _ = checks()
        await closed_loop("127.0.0.1", port, warm[:500], args.callers)
        for run in range(args.runs):
            requests, picks = checks()
            check = await closed_loop("127.0.0.1", port, requests, args.callers)
            trivial = await closed_loop(
                "127.0.0.1", port, [get("/docs", token)] * args.requests, args.callers
            )
            sql = await sql_ceiling(dsn, token, picks, args.callers)
            ratio = round(check["per_s"] / trivial["per_s"], 3)
            runs.append({"checks": check, "trivial_endpoint": trivial, "sql": sql, "ratio": ratio})
            log(f"run {run + 1}: checks {check}, GET /docs {trivial}, SQL {sql}, ratio {ratio}")
    finally:
        api.stop()

    def median(pick: Callable[[dict[str, Any]], float]) -> float:
        return round(float(statistics.median(pick(r) for r in runs)), 2)

    p99 = median(lambda r: r["checks"]["p99_ms"])
    per_s = median(lambda r: r["checks"]["per_s"])
    return {
        "name": "entitlements",
        "workspaces": args.workspaces,
        "callers": args.callers,
        "requests_per_run": args.requests,
        "checks_per_s": per_s,
        "p50_ms": median(lambda r: r["checks"]["p50_ms"]),
        "p99_ms": p99,
        "failures": sum(r["checks"]["failures"] for r in runs),
        "trivial_endpoint_per_s": median(lambda r: r["trivial_endpoint"]["per_s"]),
        "sql_per_s": median(lambda r: r["sql"]["per_s"]),
        "sql_p99_ms": median(lambda r: r["sql"]["p99_ms"]),
        "ratio_to_ceiling": median(lambda r: r["ratio"]),
        "goal": {"p99_ms": 5, "checks_per_s": 2000, "met": p99 <= 5 and per_s >= 2000},
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": runs,
    }


def main() -> None:
    """Parse arguments, run on a fresh embedded PostgreSQL, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workspaces", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=6_000, help="checks per run")
    parser.add_argument("--callers", type=int, default=4, help="concurrent callers")
    parser.add_argument("--serve-api", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_api is not None:
        serve_api(args.serve_api)
        return
    with tempfile.TemporaryDirectory(prefix="tenure-bench-entitlements-") as tmp:
        pg = EmbeddedPostgres(Path(tmp) / "pg", free_port(), lambda _, __: None)
        pg.start()
        try:
            upgrade(pg.url)
            result = asyncio.run(measure(pg, args))
        finally:
            pg.stop()
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()

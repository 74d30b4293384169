"""The daily roll-up's Schedule on the Temporal dev server (the time-skipping server has no
Schedules): created idempotently at 00:15 UTC, and triggered on demand by `tenure usage rollup`."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.usage import RollupResult
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import TemporalDevServer
from worker.schedules import ROLLUP_SCHEDULE_ID, ensure_rollup_schedule, trigger_rollup


@pytest.fixture(scope="module")
def client(dev_client: Client) -> Client:
    return dev_client


@pytest.fixture(scope="module")
def task_queue(dev_queue: str) -> str:
    return dev_queue


@pytest.fixture(scope="module", autouse=True)
async def no_schedule_left(client: Client) -> AsyncIterator[None]:
    """The Schedule fires at 00:15 UTC in real time: none may outlive this module on the
    session's server (a roll-up at that instant would move the global watermark under other
    tests), and a rerun of the module starts from no Schedule again."""
    yield
    with contextlib.suppress(RPCError):
        await client.get_schedule_handle(ROLLUP_SCHEDULE_ID).delete()


async def _store(engine: AsyncEngine, ws: str, at: str, credits: int, minutes: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO usage_events (workspace_id, event_id, kind, at, credits, serverless_minutes, "
                "payload) VALUES (:ws, :id, 'serverless_minutes', :at, :credits, :minutes, '{}')"
            ),
            {
                "ws": ws,
                "id": uuid.uuid4().hex,
                "at": datetime.fromisoformat(at),
                "credits": credits,
                "minutes": minutes,
            },
        )


async def _daily(engine: AsyncEngine, ws: str) -> dict[date, tuple[int, int]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT day, credits, serverless_minutes FROM usage_daily WHERE workspace_id = :ws"),
            {"ws": ws},
        )
        return {r[0]: (r[1], r[2]) for r in rows}


async def test_the_schedule_is_created_once_at_00_15_utc_and_kept_current(
    client: Client, task_queue: str
) -> None:
    assert await ensure_rollup_schedule(client, task_queue) == "created"
    assert await ensure_rollup_schedule(client, task_queue) == "unchanged"
    handle = client.get_schedule_handle(ROLLUP_SCHEDULE_ID)
    described = await handle.describe()
    times = described.info.next_action_times
    assert times
    assert {(t.astimezone(UTC).hour, t.minute, t.second) for t in times} == {(0, 15, 0)}
    assert {(b - a).total_seconds() for a, b in itertools.pairwise(times)} == {86_400}

    # An operator paused it; a worker of another deployment (task queue) starts: the
    # definition follows the code, the pause stays.
    await handle.pause(note="maintenance")
    assert await ensure_rollup_schedule(client, "elsewhere") == "updated"
    described = await handle.describe()
    assert described.schedule.state.paused
    action = described.schedule.action
    assert getattr(action, "task_queue", None) == "elsewhere"
    assert await ensure_rollup_schedule(client, task_queue) == "updated"
    await handle.unpause()


async def test_an_on_demand_run_through_the_schedule_rolls_usage_up(
    client: Client, task_queue: str, migrated_engine: AsyncEngine
) -> None:
    ws = f"sched-{uuid.uuid4().hex[:8]}"
    await _store(migrated_engine, ws, "2026-11-03T10:00:00+00:00", 12, 30)
    workflow_id = await trigger_rollup(client, task_queue)
    assert workflow_id.startswith(f"{ROLLUP_SCHEDULE_ID}-")
    result = await client.get_workflow_handle(workflow_id, result_type=RollupResult).result()
    assert result.run_id == workflow_id
    assert await _daily(migrated_engine, ws) == {date(2026, 11, 3): (12, 30)}
    described = await client.get_schedule_handle(ROLLUP_SCHEDULE_ID).describe()
    assert workflow_id in [getattr(a.action, "workflow_id", None) for a in described.info.recent_actions]
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == "UsageRollup"


async def test_tenure_usage_rollup_waits_and_reports(
    dev_server: TemporalDevServer, postgres: EmbeddedPostgres, task_queue: str, migrated_engine: AsyncEngine
) -> None:
    ws = f"cli-{uuid.uuid4().hex[:8]}"
    await _store(migrated_engine, ws, "2026-11-05T23:59:00+00:00", 7, 0)
    env = os.environ | {
        "TEMPORAL_ADDRESS": dev_server.address,
        "TENURE_DATABASE_URL": postgres.url,
        "TENURE_TASK_QUEUE": task_queue,
    }
    argv = [sys.executable, "-m", "cli.main", "usage", "rollup", "--wait", "--json"]
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["run_id"].startswith(f"{ROLLUP_SCHEDULE_ID}-")
    assert report["first_day"] <= "2026-11-05" <= report["last_day"]
    assert await _daily(migrated_engine, ws) == {date(2026, 11, 5): (7, 0)}
    table = await asyncio.to_thread(
        subprocess.run, argv[:-1], env=env, capture_output=True, text=True, timeout=60
    )
    assert table.returncode == 0, table.stderr
    assert "workspace-days rewritten" in table.stdout
    unreachable = env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    refused = await asyncio.to_thread(
        subprocess.run, argv, env=unreachable, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 3, refused.stderr
    assert "cannot reach Temporal" in refused.stderr

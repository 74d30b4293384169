"""`tenure list` against the Temporal dev server (the time-skipping server has no visibility):
subscriptions found by the search attributes their workflows publish."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from billing import load_catalog
from billing.state import Member
from billing.workspace import Member as WorkspaceMember
from client import TenureClient
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from devstack.postgres import EmbeddedPostgres
from devstack.temporal import TemporalDevServer
from services.workspaces import store_workspace


@pytest.fixture(scope="module")
def tenure(dev_client: Client, dev_queue: str) -> TenureClient:
    return TenureClient(dev_client, dev_queue, f"{dev_queue}-stripe")


async def _subscribed(tenure: TenureClient, engine: AsyncEngine, ws: str) -> None:
    member = WorkspaceMember(user_id="alice", role="admin")
    await store_workspace(session_factory(engine), WorkspaceSetup(workspace_id=ws, members=[member]))
    roster = {"alice": Member(role="admin", role_granted_at=datetime.now(UTC))}
    await tenure.start_subscription(ws, load_catalog("seats"), roster)
    # Sent at once after the start: the command must act on the created subscription.
    assert (await tenure.assign_seat(ws, user="alice", seat_type="pro", actor="alice")).status == "active"


async def _tenure(
    server: TemporalDevServer, postgres: EmbeddedPostgres, *args: str
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"TEMPORAL_ADDRESS": server.address, "TENURE_DATABASE_URL": postgres.url}
    argv = [sys.executable, "-m", "cli.main", "list", *args]
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60)


async def _rows(server: TemporalDevServer, postgres: EmbeddedPostgres, *args: str) -> list[dict[str, Any]]:
    done = await _tenure(server, postgres, *args, "--json")
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


async def test_list_filters_by_status_and_catalog(
    tenure: TenureClient,
    dev_server: TemporalDevServer,
    postgres: EmbeddedPostgres,
    migrated_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    staying, leaving = f"list-{tag}-a", f"list-{tag}-b"
    for ws in (staying, leaving):
        await _subscribed(tenure, migrated_engine, ws)
    await tenure.cancel(leaving, actor="alice", reason="budget")
    found: list[dict[str, Any]] = []
    for _ in range(40):  # visibility follows the workflows within a second or two
        found = [
            r for r in await _rows(dev_server, postgres, "--status", "canceling") if tag in r["workspace_id"]
        ]
        if found:
            break
        await asyncio.sleep(0.5)
    assert [(r["workspace_id"], r["plan"], r["paid_seats"]) for r in found] == [(leaving, "business", 1)]
    assert found[0]["cancel_at"] == found[0]["period_end"]
    active = [
        r["workspace_id"]
        for r in await _rows(dev_server, postgres, "--status", "active")
        if tag in r["workspace_id"]
    ]
    everything = [
        r for r in await _rows(dev_server, postgres, "--catalog", "seats") if tag in r["workspace_id"]
    ]
    assert active == [staying], everything
    table = await _tenure(dev_server, postgres, "--catalog", "seats")
    assert staying in table.stdout
    assert leaving in table.stdout
    bad = await _tenure(dev_server, postgres, "--status", 'x" OR 1=1')
    assert bad.returncode == 2
    assert "plain name" in bad.stderr

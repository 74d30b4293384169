"""The overview's usage section: usage as of the last daily roll-up ("updated daily"), over
the UTC days of the current period, through the real API, workflow and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from billing import AssignSeat
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _setup
from workflows.rollup import RollupRequest, UsageRollupWorkflow


def _t(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


async def _store(driver: Driver, *events: tuple[str, int, int]) -> None:
    async with driver.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO usage_events (workspace_id, event_id, kind, at, credits, serverless_minutes, "
                "payload) VALUES (:ws, :id, 'asset_materialization', :at, :credits, :minutes, '{}')"
            ),
            [
                {"ws": driver.workspace_id, "id": uuid.uuid4().hex, "at": _t(at), "credits": c, "minutes": m}
                for at, c, m in events
            ],
        )


async def test_the_overview_shows_usage_as_of_the_last_rollup(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = f"use-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    await driver.update(
        AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro")
    )
    await _store(
        driver,
        ("2026-09-02T12:00:00", 1000, 0),  # the day before the period
        ("2026-09-03T08:00:00", 1, 0),  # the period's first UTC day
        ("2026-09-10T12:00:00", 20, 3),
        ("2026-09-10T13:00:00", 300, 0),
        ("2026-10-02T23:59:59", 4000, 5),  # its last
        ("2026-10-03T00:00:00", 50000, 0),  # the next period's first
    )
    before = (await api.get(f"/v1/workspaces/{ws}/overview")).json()
    period = before["subscription"]
    assert (period["period_start"], period["period_end"]) == ("2026-09-03T00:00:00Z", "2026-10-03T00:00:00Z")
    usage = before["usage"]
    assert (usage["label"], usage["window"]) == ("updated daily", "period")
    assert (usage["first_day"], usage["last_day"]) == ("2026-09-03", "2026-10-02")
    # Ingested, not yet rolled up: the overview does not count it yet.
    assert (usage["credits"], usage["serverless_minutes"], usage["events"], usage["days"]) == (0, 0, 0, None)

    result = await driver.env.client.execute_workflow(
        UsageRollupWorkflow.run,
        RollupRequest(),
        id=f"rollup-{ws}",
        task_queue=driver.task_queue,
    )
    after = (await api.get(f"/v1/workspaces/{ws}/overview", params={"usage_days": "true"})).json()
    usage = after["usage"]
    assert datetime.fromisoformat(usage["as_of"]) == result.started_at
    assert (usage["credits"], usage["serverless_minutes"], usage["events"]) == (4321, 8, 4)
    assert [(d["day"], d["credits"], d["serverless_minutes"], d["events"]) for d in usage["days"]] == [
        ("2026-09-03", 1, 0, 1),
        ("2026-09-10", 320, 3, 2),
        ("2026-10-02", 4000, 5, 1),
    ]

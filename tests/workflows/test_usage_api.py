"""Usage ingestion over real HTTP against the real stack (SPEC §1.2, §1.4, §4): credits priced
at ingestion, idempotent by event id, a bad batch stores nothing; rows read back from
PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from config.settings import Settings
from contracts.workspace import WorkspaceSetup
from db import usage_ingest
from db.engine import session_factory
from db.usage_ingest import UsageRow
from services.usage_batch import MAX_EVENTS
from services.workspaces import store_workspace
from tests.workflows.driver import Driver
from tests.workflows.http import created

AT = "2026-03-02T10:00:00Z"


def _event(event_id: str, kind: str, **fields: object) -> dict[str, object]:
    return {"id": event_id, "kind": kind, "at": AT, **fields}


async def _workspace(driver: Driver) -> str:
    """A registered workspace (no subscription needed to receive usage)."""
    ws = f"usage-{uuid.uuid4().hex[:8]}"
    await store_workspace(session_factory(driver.engine),
        WorkspaceSetup(workspace_id=ws)
    )
    return ws


async def _stored(driver: Driver, ws: str) -> dict[str, Any]:
    async with driver.engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*) AS events, coalesce(sum(credits), 0) AS credits, "
                    "coalesce(sum(serverless_minutes), 0) AS minutes "
                    "FROM usage_events WHERE workspace_id = :ws"
                ),
                {"ws": ws},
            )
        ).one()
    return {"events": row.events, "credits": int(row.credits), "minutes": int(row.minutes)}


async def _send(api: httpx.AsyncClient, ws: str, events: list[dict[str, object]]) -> httpx.Response:
    return await api.post(f"/v1/workspaces/{ws}/usage", json={"events": events})


async def test_the_discovery_run_costs_501_credits_and_each_further_asset_500(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    discovery = [
        _event("run-1:source", "observable_source_execution"),
        _event("run-1:partitions", "dynamic_partitions_added", count=500),
        _event("run-1:asset-a", "asset_materialization", partitions=500),
    ]
    answer = await _send(api, ws, discovery)
    assert (answer.status_code, answer.json()) == (200, {"received": 3, "new": 3, "duplicates": 0})
    assert (await _stored(driver, ws))["credits"] == 501
    further = await _send(api, ws, [_event("run-1:asset-b", "asset_materialization", partitions=500)])
    assert further.json()["new"] == 1
    assert (await _stored(driver, ws))["credits"] == 1001


async def test_free_kinds_cost_nothing_and_minutes_are_counted(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await _workspace(driver)
    free = [
        _event("sensor", "sensor_evaluation"),
        _event("observation\\t\tcr\r \\N é", "asset_observation"),  # COPY-special characters
        _event("check", "asset_check"),
        _event("reported", "asset_materialization", partitions=40, step_execution=False),
        _event("partitions", "dynamic_partitions_added", count=10_000),
        _event("compute", "serverless_minutes", minutes=90),
    ]
    assert (await _send(api, ws, free)).json()["new"] == 6
    assert await _stored(driver, ws) == {"events": 6, "credits": 0, "minutes": 90}
    async with driver.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT event_id, kind, at, credits, payload FROM usage_events WHERE workspace_id = :ws"
                ),
                {"ws": ws},
            )
        ).all()
    reported = next(r for r in rows if r.event_id == "reported")
    odd = next(r for r in rows if r.kind == "asset_observation")
    assert odd.event_id == odd.payload["id"] == "observation\\t\tcr\r \\N é"
    assert reported.kind == "asset_materialization"
    assert reported.payload["step_execution"] is False
    assert reported.payload["partitions"] == 40
    assert {r.at.isoformat() for r in rows} == {"2026-03-02T10:00:00+00:00"}


async def test_replayed_and_overlapping_batches_count_each_id_once(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await _workspace(driver)
    batch = [_event(f"e{i}", "asset_materialization", partitions=2) for i in range(1_000)]
    first = await _send(api, ws, batch)
    assert first.json() == {"received": 1_000, "new": 1_000, "duplicates": 0}
    replay = await api.post(
        f"/v1/workspaces/{ws}/usage", json={"events": batch}, headers={"Idempotency-Key": "k1"}
    )
    assert replay.json() == {"received": 1_000, "new": 0, "duplicates": 1_000}
    overlap = [_event(f"e{i}", "asset_materialization", partitions=2) for i in range(500, 1_500)]
    assert (await _send(api, ws, overlap)).json() == {"received": 1_000, "new": 500, "duplicates": 500}
    # An id repeated inside one batch counts once too: the first occurrence is kept.
    repeated = [_event("twice", "asset_check"), _event("twice", "asset_materialization", partitions=9)]
    assert (await _send(api, ws, repeated)).json() == {"received": 2, "new": 1, "duplicates": 1}
    assert await _stored(driver, ws) == {"events": 1_501, "credits": 3_000, "minutes": 0}


async def test_a_malformed_event_refuses_the_whole_batch_and_names_its_index(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await _workspace(driver)
    good = [_event(f"e{i}", "asset_materialization") for i in range(1_000)]
    for bad, code in (
        ({"partitions": 0}, "invalid_argument"),
        ({"at": "2026-03-02T10:00:00"}, "invalid_argument"),  # no offset
        ({"kind": "asset_teleportation"}, "unknown_event_kind"),
        ({"surprise": 1}, "invalid_argument"),
        ({"partitions": 2**70}, "invalid_argument"),  # beyond a BIGINT of credits
        ({"at": "0001-01-01T00:00:00+01:00"}, "invalid_argument"),  # before year 1 in UTC
    ):
        batch = list(good)
        batch[537] = {**batch[537], **bad}
        answer = await _send(api, ws, batch)
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == code, answer.text
        assert answer.json()["details"]["index"] == 537, answer.text
    assert (await _send(api, ws, [*good, _event("one-too-many", "asset_check")] * 10)).status_code == 422
    assert (await _stored(driver, ws))["events"] == 0


async def test_the_bulk_endpoint_takes_events_of_many_workspaces(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    one, two = await _workspace(driver), await _workspace(driver)
    events = [
        {"workspace_id": one, **_event("run", "asset_materialization", partitions=500)},
        {"workspace_id": two, **_event("run", "observable_source_execution")},  # same id, other workspace
        {"workspace_id": two, **_event("compute", "serverless_minutes", minutes=7)},
    ]
    answer = await api.post("/v1/usage", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "received": 3,
        "new": 3,
        "duplicates": 0,
        "workspaces": {
            one: {"received": 1, "new": 1, "duplicates": 0},
            two: {"received": 2, "new": 2, "duplicates": 0},
        },
    }
    again = await api.post("/v1/usage", json={"events": events})
    assert (again.json()["new"], again.json()["duplicates"]) == (0, 3)
    assert await _stored(driver, one) == {"events": 1, "credits": 500, "minutes": 0}
    assert await _stored(driver, two) == {"events": 2, "credits": 1, "minutes": 7}


async def test_an_unknown_workspace_stores_nothing(api: httpx.AsyncClient, driver: Driver) -> None:
    known = await _workspace(driver)
    ghost = f"ghost-{uuid.uuid4().hex[:8]}"
    single = await _send(api, ghost, [_event("e1", "asset_check")])
    assert (single.status_code, single.json()["code"]) == (404, "workspace_not_found")
    events = [
        {"workspace_id": known, **_event("e1", "asset_materialization")},
        {"workspace_id": ghost, **_event("e2", "asset_materialization")},
        {"workspace_id": known, **_event("e3", "asset_materialization")},
        {"workspace_id": ghost, **_event("e4", "asset_materialization")},
    ]
    bulk = await api.post("/v1/usage", json={"events": events})
    assert bulk.status_code == 404, bulk.text
    assert bulk.json()["code"] == "workspace_not_found"
    assert bulk.json()["details"] == {"workspace_ids": [ghost], "indexes": [1, 3]}
    assert (await _stored(driver, known))["events"] == 0
    assert (await _stored(driver, ghost))["events"] == 0
    no_workspace = await api.post("/v1/usage", json={"events": [_event("e5", "asset_check")]})
    assert (no_workspace.status_code, no_workspace.json()["details"]["index"]) == (422, 0)


def test_a_full_batch_of_the_longest_events_fits_the_body_limit() -> None:
    longest = {
        "workspace_id": "w" * 64,
        "id": "e" * 251,
        "kind": "asset_materialization",
        "at": "2026-03-02T10:00:00.123456+05:30",
        "partitions": 2**62,
        "step_execution": False,
    }
    events = [{**longest, "id": f"{i:04d}{longest['id']}"} for i in range(MAX_EVENTS)]
    size = len(json.dumps({"events": events}).encode())
    assert size < Settings().api_max_body_bytes, size


async def test_overlapping_batches_committed_at_once_count_each_id_once(driver: Driver) -> None:
    ws = await _workspace(driver)

    def rows(ids: range) -> list[UsageRow]:
        return [
            UsageRow(ws, f"c{i}", "asset_check", datetime(2026, 3, 2, tzinfo=UTC), 0, 0, "{}") for i in ids
        ]

    sessions = session_factory(driver.engine)
    async with sessions() as first, sessions() as second:
        await first.begin()
        assert await usage_ingest.ingest(first, rows(range(100))) == {ws: 100}
        await second.begin()
        # The second batch overlaps the first, still uncommitted: it waits for it, then skips its ids.
        pending = asyncio.create_task(usage_ingest.ingest(second, rows(range(50, 150))))
        await asyncio.sleep(0.5)
        assert not pending.done()
        await first.commit()
        assert await asyncio.wait_for(pending, 10) == {ws: 50}
        await second.commit()
    assert (await _stored(driver, ws))["events"] == 150

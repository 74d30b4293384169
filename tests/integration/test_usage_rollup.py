"""The daily usage roll-up's SQL on the embedded PostgreSQL: per workspace per UTC day,
idempotent, and a late event (received after its day was rolled up) picked up next run."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.rollup import RollupActivities
from contracts.usage import RollupJob, RollupResult
from db.engine import session_factory


def _t(text_: str) -> datetime:
    return datetime.fromisoformat(text_)


async def _store(engine: AsyncEngine, ws: str, events: Iterable[tuple[str, int, int]]) -> None:
    """Events of ``ws`` as (at, credits, minutes), stored as ingestion stores them."""
    rows = [
        {"ws": ws, "id": uuid.uuid4().hex, "at": _t(at), "credits": credits, "minutes": minutes}
        for at, credits, minutes in events
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO usage_events (workspace_id, event_id, kind, at, credits, serverless_minutes, "
                "payload) VALUES (:ws, :id, 'asset_materialization', :at, :credits, :minutes, '{}')"
            ),
            rows,
        )


async def _daily(engine: AsyncEngine, *workspaces: str) -> dict[tuple[str, date], tuple[int, int, int]]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT workspace_id, day, credits, serverless_minutes, events FROM usage_daily "
                "WHERE workspace_id = ANY(:ws)"
            ),
            {"ws": list(workspaces)},
        )
        return {(r[0], r[1]): (r[2], r[3], r[4]) for r in found}


async def _runs(engine: AsyncEngine, run_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(text("SELECT * FROM usage_rollups WHERE id = :id"), {"id": run_id})
        return [dict(r._mapping) for r in found]


def _roll(engine: AsyncEngine, overlap: timedelta = timedelta(0)) -> RollupActivities:
    return RollupActivities(session_factory(engine), overlap=overlap)


async def _run(engine: AsyncEngine, run_id: str | None = None, full: bool = False) -> RollupResult:
    job = RollupJob(run_id=run_id or f"test-{uuid.uuid4().hex}", full=full)
    return await _roll(engine).rollup_usage(job)


async def test_usage_is_summed_per_workspace_per_utc_day(migrated_engine: AsyncEngine) -> None:
    tag = uuid.uuid4().hex[:8]
    a, b = f"roll-{tag}-a", f"roll-{tag}-b"
    await _store(
        migrated_engine,
        a,
        [
            ("2026-11-01T00:00:00+00:00", 501, 0),
            ("2026-11-01T23:59:59.999999+00:00", 1, 0),
            ("2026-11-02T01:30:00+02:00", 7, 0),  # 23:30 UTC on the 1st
            ("2026-11-02T00:00:00+00:00", 0, 12),
            ("2026-11-04T12:00:00+00:00", 3, 5),
        ],
    )
    await _store(migrated_engine, b, [("2026-11-01T10:00:00+00:00", 40, 2)])
    result = await _run(migrated_engine)
    assert await _daily(migrated_engine, a, b) == {
        (a, date(2026, 11, 1)): (509, 0, 3),
        (a, date(2026, 11, 2)): (0, 12, 1),
        (a, date(2026, 11, 4)): (3, 5, 1),
        (b, date(2026, 11, 1)): (40, 2, 1),
    }
    [run] = await _runs(migrated_engine, result.run_id)
    assert (run["started_at"], run["days"], run["events"]) == (result.started_at, result.days, result.events)
    assert result.days >= 4
    assert result.started_at <= result.finished_at <= datetime.now(UTC)


async def test_a_repeated_run_changes_nothing_and_a_late_event_is_picked_up(
    migrated_engine: AsyncEngine,
) -> None:
    ws = f"roll-{uuid.uuid4().hex[:8]}"
    await _store(
        migrated_engine, ws, [("2026-10-20T08:00:00+00:00", 10, 1), ("2026-10-21T08:00:00+00:00", 20, 2)]
    )
    first = await _run(migrated_engine, "test-repeat")
    rolled = await _daily(migrated_engine, ws)
    assert rolled == {(ws, date(2026, 10, 20)): (10, 1, 1), (ws, date(2026, 10, 21)): (20, 2, 1)}

    # The same run again (an activity retried after its commit): same rows, one run record.
    again = await _run(migrated_engine, "test-repeat")
    assert await _daily(migrated_engine, ws) == rolled
    [run] = await _runs(migrated_engine, "test-repeat")
    assert run["started_at"] == again.started_at > first.started_at
    # Nothing was received since the first attempt: nothing to recompute.
    assert (again.since, again.days, again.first_day) == (first.started_at, 0, None)

    # An event for the 20th arrives days later: only that day is recomputed, whole.
    await _store(migrated_engine, ws, [("2026-10-20T23:00:00+00:00", 5, 0)])
    late = await _run(migrated_engine)
    assert (late.first_day, late.last_day, late.days, late.events) == (
        date(2026, 10, 20),
        date(2026, 10, 20),
        1,
        2,
    )
    assert await _daily(migrated_engine, ws) == {
        (ws, date(2026, 10, 20)): (15, 1, 2),
        (ws, date(2026, 10, 21)): (20, 2, 1),
    }

    # A full re-roll recomputes every day ever seen and agrees with the incremental runs.
    full = await _run(migrated_engine, full=True)
    assert full.since is None
    assert full.days >= 2
    assert await _daily(migrated_engine, ws) == {
        (ws, date(2026, 10, 20)): (15, 1, 2),
        (ws, date(2026, 10, 21)): (20, 2, 1),
    }


async def test_the_overlap_rereads_events_received_shortly_before_the_last_run(
    migrated_engine: AsyncEngine,
) -> None:
    """An ingestion transaction that commits after a roll-up's snapshot carries an earlier
    `received_at`; the watermark's overlap reads such events again."""
    ws = f"roll-{uuid.uuid4().hex[:8]}"
    await _store(migrated_engine, ws, [("2026-09-01T08:00:00+00:00", 4, 0)])
    await _run(migrated_engine)
    async with migrated_engine.begin() as conn:  # as if it had been received 10 minutes ago
        await conn.execute(
            text(
                "INSERT INTO usage_events (workspace_id, event_id, kind, at, credits, serverless_minutes, "
                "payload, received_at) VALUES (:ws, 'late', 'asset_materialization', "
                "'2026-09-02T08:00:00+00:00', 6, 0, '{}', now() - interval '10 minutes')"
            ),
            {"ws": ws},
        )
    without_overlap = await _run(migrated_engine)
    assert without_overlap.days == 0
    assert (ws, date(2026, 9, 2)) not in await _daily(migrated_engine, ws)
    with_overlap = await _roll(migrated_engine, overlap=timedelta(hours=1)).rollup_usage(
        RollupJob(run_id=f"test-{uuid.uuid4().hex}")
    )
    assert with_overlap.first_day is not None
    assert (await _daily(migrated_engine, ws))[(ws, date(2026, 9, 2))] == (6, 0, 1)

"""The daily usage roll-up in SQL (set-based, idempotent) and its reads. The caller owns the
transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.rollup_models import UsageDailyRow, UsageRollupRow

# Every roll-up takes this transaction-scoped lock: two runs at once (a schedule and an
# on-demand trigger) would only repeat each other's work, and serialised they never do.
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('tenure-usage-rollup'))"

# The (workspace, UTC day) pairs to recompute: every pair (full), or those with an event
# received since the watermark. Each chosen day is then summed whole from `usage_events`
# (the `(workspace_id, at)` index), so its row is rewritten, never incremented.
_ALL_DAYS = "SELECT DISTINCT workspace_id, (at AT TIME ZONE 'UTC')::date AS day FROM usage_events"
_TOUCHED_DAYS = _ALL_DAYS + " WHERE received_at >= :since"
_ROLL_UP = """
WITH touched AS ({days}),
totals AS (
    SELECT t.workspace_id, t.day, sum(e.credits) AS credits,
           sum(e.serverless_minutes) AS serverless_minutes, count(*) AS events
    FROM touched t
    JOIN usage_events e
      ON e.workspace_id = t.workspace_id
     AND e.at >= (t.day::timestamp AT TIME ZONE 'UTC')
     AND e.at < ((t.day + 1)::timestamp AT TIME ZONE 'UTC')
    GROUP BY t.workspace_id, t.day
),
written AS (
    INSERT INTO usage_daily AS d (workspace_id, day, credits, serverless_minutes, events, rolled_up_at)
    SELECT workspace_id, day, credits, serverless_minutes, events, :started_at FROM totals
    ON CONFLICT (workspace_id, day) DO UPDATE SET
        credits = excluded.credits,
        serverless_minutes = excluded.serverless_minutes,
        events = excluded.events,
        rolled_up_at = excluded.rolled_up_at
    RETURNING d.day, d.events
)
SELECT min(day), max(day), count(*), coalesce(sum(events), 0) FROM written
"""


@dataclass(frozen=True)
class RollupRun:
    """What one roll-up did (the row it recorded in `usage_rollups`)."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    since: datetime | None
    first_day: date | None
    last_day: date | None
    days: int
    events: int


async def roll_up(session: AsyncSession, run_id: str, *, full: bool, overlap: timedelta) -> RollupRun:
    """Recompute `usage_daily` for the days that changed since the last run and record the run.

    The watermark is the last run's start less ``overlap``: an event's ``received_at`` is
    its inserting transaction's start, so one committed after our snapshot can carry an
    earlier time; ``overlap`` bounds how long an ingestion transaction may take. Safe to
    repeat: days are rewritten whole, and the run's row is keyed by ``run_id``.
    """
    await session.execute(text(_LOCK))
    started_at: datetime = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    last = (
        await session.execute(
            select(UsageRollupRow.started_at).order_by(UsageRollupRow.started_at.desc()).limit(1)
        )
    ).scalar()
    since = None if full or last is None else last - overlap
    days = _ALL_DAYS if since is None else _TOUCHED_DAYS
    params: dict[str, object] = {"started_at": started_at}
    if since is not None:
        params["since"] = since
    first_day, last_day, count, events = (
        await session.execute(text(_ROLL_UP.format(days=days)), params)
    ).one()
    finished_at: datetime = (await session.execute(text("SELECT clock_timestamp()"))).scalar_one()
    run = RollupRun(run_id, started_at, finished_at, since, first_day, last_day, int(count), int(events))
    values = {
        "id": run_id,
        "started_at": started_at,
        "finished_at": finished_at,
        "since": since,
        "first_day": first_day,
        "last_day": last_day,
        "days": run.days,
        "events": run.events,
    }
    record = insert(UsageRollupRow).values(values)
    await session.execute(
        record.on_conflict_do_update(
            index_elements=[UsageRollupRow.id],
            set_={k: record.excluded[k] for k in values if k != "id"},
        )
    )
    return run


async def last_rollup(session: AsyncSession) -> UsageRollupRow | None:
    """The latest roll-up run, if any ran."""
    statement = select(UsageRollupRow).order_by(UsageRollupRow.started_at.desc()).limit(1)
    return (await session.execute(statement)).scalar()


async def daily_usage(
    session: AsyncSession, workspace_id: str, first_day: date, last_day: date
) -> list[UsageDailyRow]:
    """The workspace's rolled-up days in ``[first_day, last_day]``, oldest first."""
    statement = (
        select(UsageDailyRow)
        .where(
            UsageDailyRow.workspace_id == workspace_id,
            UsageDailyRow.day >= first_day,
            UsageDailyRow.day <= last_day,
        )
        .order_by(UsageDailyRow.day)
    )
    return list((await session.execute(statement)).scalars())

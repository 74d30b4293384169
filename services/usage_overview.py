"""The overview's usage section (SPEC §4/§5): usage as of the last daily roll-up.

Read from `usage_daily`, never from the events: the billing page stays one indexed read
whatever a workspace ingests, and says how fresh it is (``as_of``, "updated daily").
Invoices do not use these numbers: period-end invoicing sums the events exactly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.usage import UtcDatetime
from db import rollup_repo

UPDATED_DAILY: Final = "updated daily"
Window = Literal["period", "calendar month"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class UsageDayOut(_Out):
    """One UTC day of a workspace's usage, as rolled up."""

    day: date
    credits: int
    serverless_minutes: int
    events: int


class UsageOut(_Out):
    """Credits and serverless minutes of the current period (or contract) so far.

    The days counted are the UTC days overlapping the period (``first_day`` to ``last_day``
    inclusive; the roll-up's grain is a day). ``as_of`` is when the last roll-up read the
    events (None: none has run yet); events stored after it are not counted yet.
    """

    label: Literal["updated daily"] = UPDATED_DAILY
    as_of: UtcDatetime | None
    window: Window
    first_day: date
    last_day: date
    credits: int
    serverless_minutes: int
    events: int
    days: list[UsageDayOut] | None = None


def usage_days(start: datetime | None, end: datetime | None, now: datetime) -> tuple[Window, date, date]:
    """The UTC days to count: those overlapping ``[start, end)``, else ``now``'s calendar month
    (a workspace with no running period: trialing, free, expired)."""
    if start is not None and end is not None:
        return "period", start.date(), (end - timedelta(microseconds=1)).date()
    first = now.date().replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return "calendar month", first, following - timedelta(days=1)


async def usage_section(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: str,
    start: datetime | None,
    end: datetime | None,
    now: datetime,
    with_days: bool,
) -> UsageOut:
    """The usage card's numbers for ``workspace_id`` in the period ``[start, end)``."""
    window, first_day, last_day = usage_days(start, end, now)
    async with sessions() as session:
        last = await rollup_repo.last_rollup(session)
        rows = await rollup_repo.daily_usage(session, workspace_id, first_day, last_day)
    days = [
        UsageDayOut(day=r.day, credits=r.credits, serverless_minutes=r.serverless_minutes, events=r.events)
        for r in rows
    ]
    return UsageOut(
        as_of=last.started_at if last else None,
        window=window,
        first_day=first_day,
        last_day=last_day,
        credits=sum(d.credits for d in days),
        serverless_minutes=sum(d.serverless_minutes for d in days),
        events=sum(d.events for d in days),
        days=days if with_days else None,
    )

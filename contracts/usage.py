"""Messages of the usage activities: exact window totals and the daily roll-up."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from billing.usage import UtcDatetime


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UsageWindow(_Message):
    """A half-open window ``[start, end)`` whose exact usage totals a period close needs."""

    workspace_id: str
    start: UtcDatetime
    end: UtcDatetime


class UsageWindowTotals(_Message):
    """Credits and serverless minutes of events with ``start <= at < end``."""

    start: UtcDatetime
    end: UtcDatetime
    credits: NonNegativeInt
    serverless_minutes: NonNegativeInt


class RollupJob(BaseModel):
    """The roll-up activity's input: ``full`` recomputes every day ever seen; ``run_id`` (the
    run's workflow id) keys the roll-up record."""

    model_config = ConfigDict(frozen=True)

    full: bool = False
    run_id: str


class RollupResult(BaseModel):
    """What a run recomputed; ``started_at`` is the "as of" of the numbers it wrote."""

    model_config = ConfigDict(frozen=True)

    run_id: str
    started_at: UtcDatetime
    finished_at: UtcDatetime
    since: UtcDatetime | None
    first_day: date | None
    last_day: date | None
    days: int
    events: int

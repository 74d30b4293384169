"""Billing periods and day-granular proration (SPEC §1.1, §1.2, §1.4).

Every period is computed from its anchor (``add_months(anchor, n)``), never by adding a
month to the previous period's end: Jan 31 -> Feb 28 -> Mar 31 comes back to the anchor
day instead of drifting to the 28th. Be extremely careful changing `add_months`: every
renewal date of every subscription is derived from it.

Periods are half-open ``[start, end)``. A period "Sep 3 - Oct 2" is stored as
``start=Sep 3 00:00, end=Oct 3 00:00``. Proration counts whole UTC days.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.usage import UtcDatetime

Cycle = Literal["monthly", "annual"]
"""A seat's billing cycle: charged per monthly period or per annual term."""

MONTHS_PER_TERM = 12
_DAY = timedelta(days=1)


class Period(BaseModel):
    """A half-open billing window ``[start, end)`` in UTC."""

    model_config = ConfigDict(frozen=True)

    start: UtcDatetime
    end: UtcDatetime

    @property
    def days(self) -> int:
        """Whole UTC days in the period."""
        return days_between(self.start, self.end)

    def contains(self, at: datetime) -> bool:
        """Whether ``start <= at < end``."""
        return self.start <= at < self.end


def day_start(at: datetime) -> datetime:
    """00:00 UTC of the UTC day containing ``at``."""
    utc = at.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def days_between(start: datetime, end: datetime) -> int:
    """Whole UTC days from the day of ``start`` to the day of ``end`` (end's day excluded)."""
    return (day_start(end) - day_start(start)) // _DAY


def add_months(anchor: datetime, months: int) -> datetime:
    """00:00 UTC on the anchor's day-of-month, ``months`` later, clamped to the month end.

    Always count from the original anchor: ``add_months(jan31, 2)`` is Mar 31, whereas
    ``add_months(add_months(jan31, 1), 1)`` would be Mar 28.

    Args:
        anchor: the subscription anchor (any instant; its UTC day is used).
        months: how many months later (may be 0 or negative).
    """
    base = day_start(anchor)
    index = base.year * 12 + (base.month - 1) + months
    year, month0 = divmod(index, 12)
    last_day = calendar.monthrange(year, month0 + 1)[1]
    return datetime(year, month0 + 1, min(base.day, last_day), tzinfo=UTC)


def anchored_period(anchor: datetime, index: int) -> Period:
    """The ``index``-th monthly period from the anchor (index 0 starts on the anchor day)."""
    return Period(start=add_months(anchor, index), end=add_months(anchor, index + 1))


def anchored_index_at(anchor: datetime, at: datetime) -> int:
    """Index of the anchored monthly period containing ``at`` (negative before the anchor)."""
    utc = at.astimezone(UTC)
    base = day_start(anchor)
    guess = (utc.year - base.year) * 12 + (utc.month - base.month)
    # The guess is off by at most one in either direction because of the day clamp.
    for index in (guess - 1, guess, guess + 1):
        if anchored_period(anchor, index).contains(utc):
            return index
    raise AssertionError("anchored periods must tile time")  # pragma: no cover


def annual_term(anchor: datetime, period_index: int) -> Period:
    """The annual term (12 anchored periods) containing monthly period ``period_index``."""
    first = (period_index // MONTHS_PER_TERM) * MONTHS_PER_TERM
    return Period(start=add_months(anchor, first), end=add_months(anchor, first + 12))


def is_term_start(period_index: int) -> bool:
    """Whether monthly period ``period_index`` opens a new annual term."""
    return period_index % MONTHS_PER_TERM == 0


def next_month_start(at: datetime) -> datetime:
    """00:00 UTC on the 1st of the calendar month after the one containing ``at``."""
    utc = at.astimezone(UTC)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def calendar_month(at: datetime) -> Period:
    """The calendar month (UTC) containing ``at``."""
    utc = at.astimezone(UTC)
    return Period(start=datetime(utc.year, utc.month, 1, tzinfo=UTC), end=next_month_start(utc))


def remaining_fraction(at: datetime, period: Period) -> Fraction:
    """Share of ``period`` from the day of ``at`` (that day included) to its end.

    This is the proration of a change at ``at``: an added seat is charged for it, a
    removed seat credited for it (the day of a change belongs to the new state).
    """
    return span_fraction(at, period.end, period)


def span_fraction(start: datetime, end: datetime, period: Period) -> Fraction:
    """Share of ``period``'s days covered by the days from ``start``'s to ``end``'s."""
    total = period.days
    days = days_between(max(start, period.start), min(end, period.end))
    return Fraction(max(days, 0), total)

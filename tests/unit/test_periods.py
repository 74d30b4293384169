"""Period math: table tests (Kill Bill style) and tiling properties."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.money import round_half_up
from billing.periods import (
    Period,
    add_months,
    anchored_index_at,
    anchored_period,
    annual_term,
    calendar_month,
    days_between,
    next_month_start,
    remaining_fraction,
    span_fraction,
)


def d(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "months", "expected"),
    [
        (d(2027, 1, 31), 1, d(2027, 2, 28)),
        (d(2027, 1, 31), 2, d(2027, 3, 31)),
        (d(2027, 1, 31), 3, d(2027, 4, 30)),
        (d(2028, 1, 31), 1, d(2028, 2, 29)),  # leap year
        (d(2028, 1, 31), 2, d(2028, 3, 31)),
        (d(2028, 2, 29), 12, d(2029, 2, 28)),
        (d(2028, 2, 29), 48, d(2032, 2, 29)),
        (d(2026, 12, 15), 1, d(2027, 1, 15)),
        (d(2026, 9, 3, 9), 1, d(2026, 10, 3)),  # the anchor is the day, not the instant
        (d(2026, 3, 31), -1, d(2026, 2, 28)),
    ],
)
def test_add_months_clamps_and_returns_to_the_anchor_day(
    anchor: datetime, months: int, expected: datetime
) -> None:
    assert add_months(anchor, months) == expected


def test_jan_31_anchor_across_a_leap_year() -> None:
    starts = [anchored_period(d(2027, 1, 31), n).start for n in range(15)]
    assert [s.date().isoformat() for s in starts[11:15]] == [
        "2027-12-31",
        "2028-01-31",
        "2028-02-29",
        "2028-03-31",
    ]
    assert starts[1] == d(2027, 2, 28)
    assert starts[2] == d(2027, 3, 31)


def test_worked_example_period_has_30_days() -> None:
    period = anchored_period(d(2026, 9, 3), 0)
    assert (period.start, period.end, period.days) == (d(2026, 9, 3), d(2026, 10, 3), 30)
    assert remaining_fraction(d(2026, 9, 18, 12), period) == Fraction(15, 30)


def test_annual_term_is_twelve_anchored_periods() -> None:
    anchor = d(2027, 1, 31)
    assert annual_term(anchor, 0) == Period(start=anchor, end=d(2028, 1, 31))
    assert annual_term(anchor, 13) == Period(start=d(2028, 1, 31), end=d(2029, 1, 31))
    assert annual_term(anchor, 0).days == 365


def test_calendar_months() -> None:
    assert calendar_month(d(2026, 12, 31, 23)) == Period(start=d(2026, 12, 1), end=d(2027, 1, 1))
    assert next_month_start(d(2026, 9, 15, 14)) == d(2026, 10, 1)
    assert days_between(d(2026, 9, 15, 14), d(2026, 10, 1)) == 16


def test_span_fraction_clips_to_the_period() -> None:
    sep = calendar_month(d(2026, 9, 1))
    assert span_fraction(d(2026, 8, 20), d(2026, 9, 11), sep) == Fraction(10, 30)


anchors = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200)
@given(anchor=anchors, first=st.integers(-30, 300), count=st.integers(1, 30))
def test_anchored_periods_tile_time(anchor: datetime, first: int, count: int) -> None:
    periods = [anchored_period(anchor, n) for n in range(first, first + count)]
    for before, after in itertools.pairwise(periods):
        assert before.end == after.start
    for period in periods:
        assert 28 <= period.days <= 31
        last_day = calendar.monthrange(period.start.year, period.start.month)[1]
        # back on the anchor day whenever the month has it, else clamped to the month end
        assert period.start.day == min(anchor.day, last_day)


@settings(max_examples=200)
@given(anchor=anchors, offset=st.integers(-100 * 86400, 4000 * 86400))
def test_every_instant_is_in_exactly_one_period(anchor: datetime, offset: int) -> None:
    at = anchor + timedelta(seconds=offset)
    index = anchored_index_at(anchor, at)
    assert anchored_period(anchor, index).contains(at)
    assert not anchored_period(anchor, index + 1).contains(at)
    assert not anchored_period(anchor, index - 1).contains(at)


@settings(max_examples=300)
@given(
    anchor=anchors,
    index=st.integers(0, 40),
    price=st.integers(0, 10_000_000),
    split=st.integers(0, 31),
)
def test_split_charges_sum_to_the_full_price(anchor: datetime, index: int, price: int, split: int) -> None:
    period = anchored_period(anchor, index)
    at = period.start + timedelta(days=min(split, period.days - 1))
    charge_from_split = round_half_up(price * remaining_fraction(at, period))
    charge_before_split = round_half_up(price * span_fraction(period.start, at, period))
    assert abs(charge_from_split + charge_before_split - price) <= 1

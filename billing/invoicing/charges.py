"""What is charged: the recurring seat and plan lines, their prices, and the window a
change is prorated over. Every line names its item (`LineItem`), not only its text.
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.invoicing.invoices import InvoiceLine, LineItem, line, prorated_line
from billing.periods import Cycle, Period, annual_term, day_start, span_fraction
from billing.state import BillingState, PlanSegment, Seat, seat_counts


def seat_item(seat_type: str, cycle: Cycle) -> LineItem:
    return LineItem(kind="seat", code=seat_type, cycle=cycle)


def seat_description(catalog: Catalog, seat_type: str, cycle: str) -> str:
    return f"{catalog.seat_type(seat_type).name} seat ({cycle})"


def seat_price(catalog: Catalog, seat_type: str, cycle: str) -> int:
    """Price of one full term of a seat: the month (monthly) or the 12-period term (annual)."""
    kind = catalog.seat_type(seat_type)
    return kind.monthly_price if cycle == "monthly" else kind.annual_price


def recurring_seat_lines(
    catalog: Catalog,
    seats: dict[str, Seat],
    anchor: datetime,
    period_index: int,
    period: Period,
    *,
    annual_too: bool,
) -> list[InvoiceLine]:
    """In-advance ``seat`` lines: seats held at the period start, grouped by type and cycle.

    Monthly seats are charged for the period; annual seats for their whole term, only
    when ``annual_too`` (a term starts, or a checkout/reactivation opens one).
    """
    term = annual_term(anchor, period_index)
    lines: list[InvoiceLine] = []
    for (seat_type, cycle), count in seat_counts(seats).items():
        if cycle == "annual" and not annual_too:
            continue
        lines.append(
            line(
                "seat",
                seat_item(seat_type, cycle),
                seat_description(catalog, seat_type, cycle),
                count,
                seat_price(catalog, seat_type, cycle),
                period if cycle == "monthly" else term,
            )
        )
    return lines


def seat_term(state: BillingState, cycle: str) -> Period:
    """The window a seat change is prorated over: the monthly period or the annual term."""
    assert state.anchor is not None
    assert state.period is not None
    return state.period if cycle == "monthly" else annual_term(state.anchor, state.period_index)


def remainder_window(at: datetime, term: Period, end: datetime | None = None) -> Period:
    """The days a change at ``at`` affects: from its day (included) to the term end (or to
    ``end``, where the days billed for a seat stop earlier)."""
    return Period(start=max(day_start(at), term.start), end=term.end if end is None else end)


def segment_lines(catalog: Catalog, segment: PlanSegment, end: datetime, month: Period) -> list[InvoiceLine]:
    """In-arrears plan charge of one plan segment ``[segment.start, end)`` of ``month``.

    A segment covering the whole calendar month is a ``plan`` line; any other is a
    ``plan_proration`` of the month's price by days (the day of a change is the new
    plan's). Empty or free segments give no line.
    """
    plan = catalog.plan(segment.plan)
    ratio = span_fraction(segment.start, end, month)
    if ratio == 0 or plan.price == 0:
        return []
    window = Period(start=max(day_start(segment.start), month.start), end=min(day_start(end), month.end))
    item = LineItem(kind="plan", code=plan.code)
    if ratio == 1:
        return [line("plan", item, f"{plan.name} plan", 1, plan.price, window)]
    return [prorated_line("plan_proration", item, f"{plan.name} plan", plan.price, ratio, window)]

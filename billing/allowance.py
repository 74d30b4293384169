"""What the current window includes, and the usage cards of the billing overview (SPEC §5).

The workflow knows the allowance (plan, contract or seat credits, and the rates beyond
them); only the database knows the usage. `allowance` is the workflow's half (in the
`billing_overview` query); `usage_cards` joins it to usage read elsewhere (the daily roll-up)
for the page: used, included, overage so far and its charge, and for a contract the
projection to its end with the ±10 % warning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.catalog import Catalog
from billing.periods import Period, calendar_month, span_fraction
from billing.projection import Projection, elapsed_fraction, overage, project, prorated_included_credits
from billing.state import BillingState, seats_held
from billing.usage import UtcDatetime

Source = Literal["plan", "contract", "seats"]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Allowance(_View):
    """Credits and minutes a window includes and the price of each one beyond.

    Attributes:
        source: "plan" (credits catalog, included credits prorated across plan changes),
            "contract" (credits in contract plus rolled-over ones), "seats" (every active
            member's seat type's monthly credits, pooled for the workspace).
        credits: included credits (None: the window has no credit allowance).
        credit_overage_rate: minor units per credit beyond ``credits`` (0: not billed).
        serverless_minutes: minutes in contract (None: every minute is billed).
        minute_rate: minor units per serverless minute beyond ``serverless_minutes``.
    """

    source: Source
    window_start: UtcDatetime
    window_end: UtcDatetime
    credits: int | None
    credit_overage_rate: int
    serverless_minutes: int | None
    minute_rate: int


def allowance(state: BillingState, catalog: Catalog, at: datetime) -> Allowance | None:
    """The allowance in effect at ``at`` (None when nothing is included or billed)."""
    contract = state.contract
    if contract is not None:
        return Allowance(
            source="contract",
            window_start=contract.starts_at,
            window_end=contract.ends_at,
            credits=contract.credits + contract.rollover_credits,
            credit_overage_rate=contract.credit_overage_rate,
            serverless_minutes=contract.serverless_minutes,
            minute_rate=contract.minute_overage_rate,
        )
    if catalog.invoicing == "in_arrears" and state.plan is not None and state.period is not None:
        return _plan_allowance(state, catalog, state.period)
    if catalog.seat_types:
        window = state.period or calendar_month(at)
        return Allowance(
            source="seats",
            window_start=window.start,
            window_end=window.end,
            credits=seat_credit_pool(state, catalog),
            credit_overage_rate=0,
            serverless_minutes=None,
            minute_rate=catalog.serverless_minute_price,
        )
    return None


def _plan_allowance(state: BillingState, catalog: Catalog, period: Period) -> Allowance:
    # As the period-end invoice will count it: each plan's included credits for the share
    # of the month it was in effect, rounded once (billing.renewal.arrears_lines).
    assert state.plan is not None
    month = calendar_month(period.start)
    segments = state.plan_segments
    ends = [s.start for s in segments[1:]] + [period.end]
    included = prorated_included_credits(
        [
            (catalog.plan(s.plan).included_credits, span_fraction(s.start, e, month))
            for s, e in zip(segments, ends, strict=True)
        ]
    )
    return Allowance(
        source="plan",
        window_start=period.start,
        window_end=period.end,
        credits=included,
        credit_overage_rate=catalog.plan(state.plan).overage_rate,
        serverless_minutes=None,
        minute_rate=catalog.serverless_minute_price,
    )


def seat_credit_pool(state: BillingState, catalog: Catalog) -> int:
    """Monthly credits of every active member's seat, pooled (a member without a paid seat
    holds the catalog's free seat, when it has one)."""
    held = seats_held(state)
    free = catalog.seat_types.get("free")
    pool = 0
    for user, member in state.members.items():
        if member.status != "active":
            continue
        seat = held.get(user)
        seat_type = catalog.seat_types.get(seat.seat_type) if seat else free
        pool += seat_type.monthly_credits if seat_type else 0
    return pool


class UsageCard(_View):
    """One card of the billing page (credits or serverless minutes)."""

    unit: Literal["credits", "minutes"]
    used: int
    included: int | None
    overage: int
    overage_charge: int
    projection: Projection | None
    warning: str | None


class UsageCards(_View):
    """The usage cards as of ``as_of`` (the last roll-up)."""

    source: Source
    window_start: UtcDatetime
    window_end: UtcDatetime
    as_of: UtcDatetime | None
    credits: UsageCard
    serverless_minutes: UsageCard


def _card(
    unit: Literal["credits", "minutes"],
    used: int,
    included: int | None,
    rate: int,
    contract: bool,
    window: Period,
    as_of: datetime | None,
) -> UsageCard:
    if included is None:  # nothing included: every unit is charged
        return UsageCard(
            unit=unit,
            used=used,
            included=None,
            overage=0,
            overage_charge=used * rate,
            projection=None,
            warning=None,
        )
    extra, charge = overage(used, included, rate)
    projection = None
    if contract and as_of is not None:
        projection = project(used, included, elapsed_fraction(window.start, window.end, as_of), rate, unit)
    return UsageCard(
        unit=unit,
        used=used,
        included=included,
        overage=extra,
        overage_charge=charge,
        projection=projection,
        warning=projection.warning if projection else None,
    )


def usage_cards(
    allowance: Allowance, credits_used: int, minutes_used: int, as_of: datetime | None
) -> UsageCards:
    """The cards for usage ``credits_used`` / ``minutes_used`` in the allowance's window,
    counted up to ``as_of`` (None: never rolled up; no projection)."""
    window = Period(start=allowance.window_start, end=allowance.window_end)
    contract = allowance.source == "contract"
    return UsageCards(
        source=allowance.source,
        window_start=allowance.window_start,
        window_end=allowance.window_end,
        as_of=as_of,
        credits=_card(
            "credits",
            credits_used,
            allowance.credits,
            allowance.credit_overage_rate,
            contract,
            window,
            as_of,
        ),
        serverless_minutes=_card(
            "minutes",
            minutes_used,
            allowance.serverless_minutes,
            allowance.minute_rate,
            contract,
            window,
            as_of,
        ),
    )

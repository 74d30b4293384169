"""Credit allowances, overage and sales-contract projections (SPEC §1.2 to §1.4).

Pure domain: time is always an argument. Ratios are `Fraction` and become whole
credits or minor units once, through `round_half_up`.

Elapsed time of a contract is measured to the microsecond (not in whole days): usage is
rolled up daily at an arbitrary instant, and dividing a partial day's usage by a whole
number of days would overstate the projection. With contracts and roll-ups at 00:00 UTC
both measures agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.errors import INVALID_ARGUMENT, DomainError
from billing.money import round_half_up

# The warning band of SPEC §1.3: "more than 10 % above or below the contracted amount".
OVERAGE_THRESHOLD = Fraction(11, 10)
SURPLUS_THRESHOLD = Fraction(9, 10)

_MICROSECOND = timedelta(microseconds=1)


def prorated_included_credits(segments: Sequence[tuple[int, Fraction]]) -> int:
    """Included credits of a partial or split period.

    Each segment is ``(included credits a month of the plan in effect, share of the
    period's days)``. The exact fractions are summed and rounded half-up ONCE, so a split
    never gains or loses a credit to intermediate rounding.

    Raises:
        DomainError: ``invalid_argument`` for a negative allowance, a share outside
            [0, 1], or shares summing past 1.
    """
    exact = Fraction(0)
    share_sum = Fraction(0)
    for included, share in segments:
        if included < 0 or not 0 <= share <= 1:
            raise DomainError(
                INVALID_ARGUMENT,
                "bad included-credit segment",
                {"included": included, "share": str(share)},
            )
        exact += included * share
        share_sum += share
    if share_sum > 1:
        raise DomainError(INVALID_ARGUMENT, "segment shares exceed one period", {"share_sum": str(share_sum)})
    return round_half_up(exact)


def overage(credits_used: int, included: int, rate_per_credit: int) -> tuple[int, int]:
    """Credits beyond the allowance and their charge in minor units (never negative).

    Raises:
        DomainError: ``invalid_argument`` for negative inputs.
    """
    if credits_used < 0 or included < 0 or rate_per_credit < 0:
        raise DomainError(
            INVALID_ARGUMENT,
            "usage, allowance and rate must be non-negative",
            {
                "credits_used": credits_used,
                "included": included,
                "rate_per_credit": rate_per_credit,
            },
        )
    extra = max(0, credits_used - included)
    return extra, extra * rate_per_credit


class Projection(BaseModel):
    """Where a contract's usage is heading at the current pace.

    Attributes:
        used: usage so far (credits or minutes).
        contracted: amount in contract, rolled-over credits included.
        elapsed_fraction: share of the contract elapsed, in (0, 1].
        projected: ``used / elapsed_fraction`` rounded half-up.
        direction: ``"overage"`` above 110 % of ``contracted``, ``"surplus"`` below
            90 %, else None (no warning).
        projected_amount: the projected overage or surplus (``|projected - contracted|``)
            when there is a warning, else 0.
        projected_charge: for an overage, ``projected_amount`` at the contract's overage
            rate (minor units); else 0.
        warning: the overview's sentence, or None.
    """

    model_config = ConfigDict(frozen=True)

    used: int
    contracted: int
    elapsed_fraction: Fraction
    projected: int
    direction: Literal["overage", "surplus"] | None
    projected_amount: int
    projected_charge: int
    warning: str | None


def elapsed_fraction(start: datetime, end: datetime, as_of: datetime) -> Fraction:
    """Exact share of ``[start, end)`` elapsed at ``as_of``, clamped to [0, 1].

    Raises:
        DomainError: ``invalid_argument`` when the contract does not end after it starts.
    """
    if end <= start:
        raise DomainError(
            INVALID_ARGUMENT,
            "contract must end after it starts",
            {"start": start.isoformat(), "end": end.isoformat()},
        )
    if as_of <= start:
        return Fraction(0)
    if as_of >= end:
        return Fraction(1)
    return Fraction((as_of - start) // _MICROSECOND, (end - start) // _MICROSECOND)


def project(
    used: int,
    contracted: int,
    elapsed: Fraction,
    overage_rate: int,
    unit: str = "credits",
) -> Projection | None:
    """Project usage to the end of a contract and decide the warning.

    The comparison uses the rounded ``projected`` value, so the number the overview shows
    and its warning always agree: exactly 110 % (or 90 %) of the contract warns nothing.

    Args:
        used: usage so far.
        contracted: credits in contract plus rolled-over credits (or minutes in contract).
        elapsed: share of the contract elapsed (see `elapsed_fraction`).
        overage_rate: contract overage price per unit, in minor units.
        unit: word used in the warning ("credits", "minutes").

    Returns:
        The projection, or None while no time has elapsed (nothing to extrapolate from).

    Raises:
        DomainError: ``invalid_argument`` for negative amounts or ``elapsed`` outside [0, 1].
    """
    if used < 0 or contracted < 0 or overage_rate < 0 or not 0 <= elapsed <= 1:
        raise DomainError(
            INVALID_ARGUMENT,
            "bad projection inputs",
            {
                "used": used,
                "contracted": contracted,
                "elapsed": str(elapsed),
                "overage_rate": overage_rate,
            },
        )
    if elapsed == 0:
        return None
    projected = round_half_up(used / elapsed)
    direction: Literal["overage", "surplus"] | None = None
    amount = charge = 0
    warning: str | None = None
    if projected > contracted * OVERAGE_THRESHOLD:
        direction, amount = "overage", projected - contracted
        charge = amount * overage_rate
        warning = (
            f"projected overage: {projected} {unit} against {contracted} in contract, "
            f"{amount} over (charge {charge} at {overage_rate} each)"
        )
    elif projected < contracted * SURPLUS_THRESHOLD:
        direction, amount = "surplus", contracted - projected
        warning = (
            f"projected surplus: {projected} {unit} against {contracted} in contract, "
            f"{amount} unused at contract end (unused {unit} expire)"
        )
    return Projection(
        used=used,
        contracted=contracted,
        elapsed_fraction=elapsed,
        projected=projected,
        direction=direction,
        projected_amount=amount,
        projected_charge=charge,
        warning=warning,
    )


def project_contract(
    used: int,
    in_contract: int,
    rolled_over: int,
    start: datetime,
    end: datetime,
    as_of: datetime,
    overage_rate: int,
    unit: str = "credits",
) -> Projection | None:
    """`project` for a contract ``[start, end)`` with usage rolled up to ``as_of``.

    Contract credits are ``in_contract + rolled_over`` (pass 0 for minutes).
    """
    return project(used, in_contract + rolled_over, elapsed_fraction(start, end, as_of), overage_rate, unit)

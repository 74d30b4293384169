"""Included-credit proration, overage and contract projections (SPEC §1.2 to §1.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.errors import INVALID_ARGUMENT, DomainError
from billing.projection import (
    elapsed_fraction,
    overage,
    project,
    project_contract,
    prorated_included_credits,
)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        # solo 7500 for 10 days of 30, then starter 30000 for 20 days: 2500 + 20000.
        pytest.param([(7500, Fraction(10, 30)), (30000, Fraction(20, 30))], 22500, id="split"),
        pytest.param([(7500, Fraction(1))], 7500, id="full-period"),
        pytest.param([(7500, Fraction(12, 31))], 2903, id="partial-first-period"),  # 2903.2
        pytest.param([(1001, Fraction(15, 30))], 501, id="half-goes-up"),  # 500.5
        pytest.param([(999, Fraction(1, 2))], 500, id="half-goes-up-2"),  # 499.5
        pytest.param([(1000, Fraction(1, 3))], 333, id="third-goes-down"),  # 333.33
        # Rounded once: 50.5 + 150.5 = 201 exactly; rounding each segment would give 202.
        pytest.param([(101, Fraction(1, 2)), (301, Fraction(1, 2))], 201, id="round-once"),
        # 7500*10/31 + 30000*21/31 = 22741.94 -> 22742.
        pytest.param([(7500, Fraction(10, 31)), (30000, Fraction(21, 31))], 22742, id="31-days"),
        pytest.param([], 0, id="no-segment"),
    ],
)
def test_prorated_included_credits(segments: list[tuple[int, Fraction]], expected: int) -> None:
    assert prorated_included_credits(segments) == expected


@pytest.mark.parametrize(
    "segments",
    [
        [(-1, Fraction(1))],
        [(7500, Fraction(-1, 30))],
        [(7500, Fraction(31, 30))],
        [(7500, Fraction(2, 3)), (30000, Fraction(2, 3))],
    ],
)
def test_prorated_included_credits_rejects_bad_segments(
    segments: list[tuple[int, Fraction]],
) -> None:
    with pytest.raises(DomainError) as err:
        prorated_included_credits(segments)
    assert err.value.code == INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("used", "included", "rate", "expected"),
    [
        pytest.param(8000, 7500, 4, (500, 2000), id="solo-500-over-at-4"),
        pytest.param(7501, 7500, 4, (1, 4), id="one-over"),
        pytest.param(7500, 7500, 4, (0, 0), id="exactly-included"),
        pytest.param(100, 7500, 4, (0, 0), id="never-negative"),
        pytest.param(31000, 30000, 3, (1000, 3000), id="starter-at-3"),
    ],
)
def test_overage(used: int, included: int, rate: int, expected: tuple[int, int]) -> None:
    assert overage(used, included, rate) == expected


def test_overage_rejects_negative() -> None:
    with pytest.raises(DomainError):
        overage(-1, 0, 4)


START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)  # 365 days


@pytest.mark.parametrize(
    ("used", "contracted", "elapsed", "projected", "direction", "amount", "charge"),
    [
        pytest.param(55_000, 100_000, Fraction(1, 2), 110_000, None, 0, 0, id="exactly-110"),
        pytest.param(
            55_001, 100_000, Fraction(1, 2), 110_002, "overage", 10_002, 50_010, id="just-above-110"
        ),
        pytest.param(45_000, 100_000, Fraction(1, 2), 90_000, None, 0, 0, id="exactly-90"),
        pytest.param(
            44_999, 100_000, Fraction(1, 2), 89_998, "surplus", 10_002, 0, id="just-below-90"
        ),
        pytest.param(25_000, 100_000, Fraction(1, 4), 100_000, None, 0, 0, id="on-track"),
        pytest.param(1, 3, Fraction(2, 3), 2, "surplus", 1, 0, id="1.5-rounds-up-to-2"),
        pytest.param(0, 0, Fraction(1, 2), 0, None, 0, 0, id="nothing-contracted-nothing-used"),
        pytest.param(1, 0, Fraction(1, 2), 2, "overage", 2, 10, id="nothing-contracted"),
        pytest.param(
            120_000, 100_000, Fraction(1), 120_000, "overage", 20_000, 100_000, id="contract-over"
        ),
    ],
)
def test_projection_band(
    used: int,
    contracted: int,
    elapsed: Fraction,
    projected: int,
    direction: str | None,
    amount: int,
    charge: int,
) -> None:
    p = project(used, contracted, elapsed, overage_rate=5)
    assert p is not None
    assert (p.projected, p.direction, p.projected_amount, p.projected_charge) == (
        projected,
        direction,
        amount,
        charge,
    )
    assert (p.warning is None) == (direction is None)


def test_projection_warning_texts() -> None:
    over = project(55_001, 100_000, Fraction(1, 2), overage_rate=5)
    under = project(10, 100, Fraction(1, 2), overage_rate=5, unit="minutes")
    assert over is not None
    assert under is not None
    assert over.warning == (
        "projected overage: 110002 credits against 100000 in contract, "
        "10002 over (charge 50010 at 5 each)"
    )
    assert under.warning == (
        "projected surplus: 20 minutes against 100 in contract, 80 unused at contract end "
        "(unused minutes expire)"
    )


def test_no_projection_before_any_time_elapsed() -> None:
    assert project(0, 100, Fraction(0), 5) is None
    assert project_contract(0, 100, 0, START, END, START, 5) is None
    assert project_contract(0, 100, 0, START, END, START - timedelta(days=3), 5) is None


def test_contract_projection_counts_rolled_over_credits() -> None:
    # 73 of 365 days elapsed = 1/5; 30_000 used projects 150_000.
    as_of = START + timedelta(days=73)
    p = project_contract(30_000, 120_000, 20_000, START, END, as_of, overage_rate=6)
    assert p is not None
    assert p.elapsed_fraction == Fraction(1, 5)
    assert (p.contracted, p.projected, p.direction) == (140_000, 150_000, None)
    # Without the rolled-over credits the same pace is a projected overage.
    q = project_contract(30_000, 120_000, 0, START, END, as_of, overage_rate=6)
    assert q is not None
    assert (q.direction, q.projected_amount, q.projected_charge) == ("overage", 30_000, 180_000)


def test_elapsed_fraction_is_exact_and_clamped() -> None:
    assert elapsed_fraction(START, END, START + timedelta(hours=12)) == Fraction(1, 730)
    assert elapsed_fraction(START, END, END + timedelta(days=1)) == 1
    with pytest.raises(DomainError):
        elapsed_fraction(START, START, START)


def test_projection_rejects_bad_inputs() -> None:
    with pytest.raises(DomainError):
        project(-1, 100, Fraction(1, 2), 5)
    with pytest.raises(DomainError):
        project(1, 100, Fraction(3, 2), 5)


@given(
    st.integers(0, 10**7),
    st.integers(0, 10**7),
    st.fractions(min_value=Fraction(1, 10**6), max_value=1),
)
def test_projection_direction_consistent_with_ratio(
    used: int, contracted: int, elapsed: Fraction
) -> None:
    p = project(used, contracted, elapsed, overage_rate=4)
    assert p is not None
    assert p.direction == (
        "overage"
        if p.projected * 10 > contracted * 11
        else "surplus"
        if p.projected * 10 < contracted * 9
        else None
    )
    assert abs(p.projected - used / elapsed) <= Fraction(1, 2)
    assert p.projected_amount >= 0
    assert p.projected_charge == (p.projected_amount * 4 if p.direction == "overage" else 0)


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 31)), max_size=4))
def test_included_credits_within_half_of_exact(parts: list[tuple[int, int]]) -> None:
    days = sum(d for _, d in parts)
    segments = [(inc, Fraction(d, max(days, 31))) for inc, d in parts]
    exact = sum((Fraction(inc) * share for inc, share in segments), Fraction(0))
    assert abs(prorated_included_credits(segments) - exact) <= Fraction(1, 2)

"""The lifecycle benchmark's alternated rounds: each ratio pairs a workload phase with the
ceiling phase right after it; the line reports their median and range."""

from __future__ import annotations

import pytest

from bench.lifecycle_report import Rounds
from bench.load import PhaseResult


def _phase(ops: int, seconds: float = 10.0, errors: int = 0) -> PhaseResult:
    return PhaseResult(seconds=seconds, latencies_ms=[float(n) for n in range(ops)], errors=errors)


def test_a_slow_machine_minute_moves_both_phases_of_its_round_not_the_ratio() -> None:
    # Round 2 ran while another tenant took half the machine: both of its phases halved.
    rounds = Rounds(((_phase(80), _phase(100)), (_phase(40), _phase(50)), (_phase(85), _phase(100))))
    assert rounds.ratios == pytest.approx([0.8, 0.8, 0.85])
    assert rounds.median_ratio == pytest.approx(0.8)
    assert rounds.spread == pytest.approx(0.05)


def test_phases_pool_for_throughput_and_latency() -> None:
    rounds = Rounds(((_phase(10, errors=1), _phase(20)), (_phase(30, errors=2), _phase(40))))
    assert rounds.measured.seconds == 20.0
    assert len(rounds.measured.latencies_ms) == 40
    assert rounds.measured.errors == 3
    assert rounds.measured.ops_per_s == pytest.approx(2.0)
    assert rounds.ceiling.ops_per_s == pytest.approx(3.0)


def test_a_ceiling_phase_that_did_nothing_counts_as_a_zero_ratio() -> None:
    rounds = Rounds(((_phase(10), _phase(0)), (_phase(10), _phase(10))))
    assert rounds.ratios == [0.0, 1.0]
    assert rounds.spread == 1.0

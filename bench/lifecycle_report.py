"""The lifecycle benchmark's JSON line: the figures issue 4 asks for, then how they were obtained."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.load import PhaseResult
from bench.periods import PERIODS, PeriodFigures


@dataclass(frozen=True)
class Rounds:
    """Workload and ceiling phases run alternately (A B A B ...), one pair per round.

    A ratio compares a workload phase with the ceiling phase that ran right after it: the
    machine's mood (another tenant's load, thermal state) moves over minutes, and two phases
    seconds apart share it, so the pair's ratio measures the code, not the machine.
    """

    pairs: tuple[tuple[PhaseResult, PhaseResult], ...]

    @property
    def ratios(self) -> list[float]:
        """Workload ops/s over ceiling ops/s, per round (0 where the ceiling did nothing)."""
        return [a.ops_per_s / b.ops_per_s if b.ops_per_s else 0.0 for a, b in self.pairs]

    @property
    def median_ratio(self) -> float:
        """The figure the goal is about."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> float:
        """Highest minus lowest round ratio."""
        return max(self.ratios) - min(self.ratios)

    @property
    def measured(self) -> PhaseResult:
        """Every workload phase as one (latencies pooled, seconds summed)."""
        return _pooled([a for a, _ in self.pairs])

    @property
    def ceiling(self) -> PhaseResult:
        """Every ceiling phase as one."""
        return _pooled([b for _, b in self.pairs])


def _pooled(phases: list[PhaseResult]) -> PhaseResult:
    return PhaseResult(
        seconds=sum(p.seconds for p in phases),
        latencies_ms=[ms for p in phases for ms in p.latencies_ms],
        errors=sum(p.errors for p in phases),
    )


def result_line(
    subscriptions: int,
    callers: int,
    seconds: float,
    rounds: Rounds,
    rss_per_subscription: float,
    periods: PeriodFigures,
    live_longest: int,
    live_runs: int,
) -> dict[str, Any]:
    """The JSON result: the figures issues 4 and 17 ask for, then how they were obtained."""
    measured, ceiling = rounds.measured, rounds.ceiling
    return {
        "name": "lifecycle",
        "subscriptions": subscriptions,
        "callers": callers,
        "seconds": seconds,
        "ops_per_s": round(measured.ops_per_s, 1),
        "p50_ms": round(measured.percentile(50), 1),
        "p99_ms": round(measured.percentile(99), 1),
        "ceiling_ops_per_s": round(ceiling.ops_per_s, 1),
        "ratio_to_ceiling": round(rounds.median_ratio, 3),
        "ratio_spread": round(rounds.spread, 3),
        "round_ratios": [round(r, 3) for r in rounds.ratios],
        "round_ops_per_s": [round(a.ops_per_s, 1) for a, _ in rounds.pairs],
        "round_ceiling_ops_per_s": [round(b.ops_per_s, 1) for _, b in rounds.pairs],
        "rss_per_subscription_mib": round(rss_per_subscription, 4),
        "history_events_per_period": periods.quiet_per_period,
        "max_run_events": max(periods.max_run_events, live_longest),
        "errors": measured.errors,
        "ceiling_errors": ceiling.errors,
        "ceiling_p50_ms": round(ceiling.percentile(50), 1),
        "ceiling_p99_ms": round(ceiling.percentile(99), 1),
        "history_events_per_period_with_2_seat_changes": periods.busy_per_period,
        "history_runs_time_skipping": periods.runs,
        "dev_server_runs": live_runs,
        "dev_server_longest_run_events": live_longest,
        "method": {
            "rounds": f"{len(rounds.pairs)} rounds of a workload phase then a ceiling phase (A B A B ...), "
            "the same callers; ratio_to_ceiling is the median of the rounds' ratios, ratio_spread "
            "their range; ops_per_s and the latencies pool every workload phase",
            "server": "temporal dev server (CLI, SQLite file); worker and load client in separate processes",
            "rss": "worker RSS (psutil) with all subscriptions cached after checkout minus RSS before the "
            "first start, divided by N",
            "history_events_per_period": f"time-skipping server, real activities, Stripe emulator: median "
            f"events of full one-period runs (renewal, in-advance invoice posted to its own workflow, "
            f"collected from the card on file) over {PERIODS} monthly periods; "
            "the _with_2_seat_changes figure adds one assign and one unassign per period",
            "max_run_events": "longest run of the time-skipping experiment (checkout included) and of every "
            "Subscription run on the dev server (closed: visibility history_length; open: describe())",
        },
    }

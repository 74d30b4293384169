"""The lifecycle benchmark's JSON line: the figures issue 4 asks for, then how they were obtained."""

from __future__ import annotations

from typing import Any

from bench.load import PhaseResult
from bench.periods import PERIODS, PeriodFigures


def result_line(
    subscriptions: int,
    callers: int,
    seconds: float,
    measured: PhaseResult,
    ceiling: PhaseResult,
    rss_per_subscription: float,
    periods: PeriodFigures,
    live_longest: int,
    live_runs: int,
) -> dict[str, Any]:
    """The JSON result: the figures issue 4 asks for, then how they were obtained."""
    return {
        "name": "lifecycle",
        "subscriptions": subscriptions,
        "callers": callers,
        "seconds": seconds,
        "ops_per_s": round(measured.ops_per_s, 1),
        "p50_ms": round(measured.percentile(50), 1),
        "p99_ms": round(measured.percentile(99), 1),
        "ceiling_ops_per_s": round(ceiling.ops_per_s, 1),
        "ratio_to_ceiling": round(measured.ops_per_s / ceiling.ops_per_s, 3) if ceiling.ops_per_s else None,
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

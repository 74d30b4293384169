"""`bench.chaos`'s own parts: the fault schedule, the 5 % Stripe fault mix, the JSON line."""

from __future__ import annotations

from collections import Counter

from bench.chaos_faults import (
    API_KILL,
    MIN_GAP_S,
    POSTGRES_RESTART,
    STRIPE_MODES,
    TEMPORAL_RESTART,
    WORKER_KILL,
    result_line,
    schedule,
    stripe_fault,
    stripe_fault_name,
    stripe_faults_due,
)


def test_the_schedule_has_every_process_fault_spread_apart() -> None:
    plan = schedule(300)
    kinds = Counter(f.kind for f in plan)
    assert kinds == {WORKER_KILL: 14, POSTGRES_RESTART: 2, TEMPORAL_RESTART: 1, API_KILL: 2}
    assert [f.at_s for f in plan if f.kind == WORKER_KILL] == [20.0 * i for i in range(1, 15)]
    assert plan == sorted(plan)
    singles = [f for f in plan if f.kind != WORKER_KILL]
    assert all(abs(a.at_s - b.at_s) >= MIN_GAP_S for a in plan for b in singles if a is not b)
    assert all(0 < f.at_s < 300 for f in plan)


def test_the_small_window_still_has_each_kind() -> None:
    assert {f.kind for f in schedule(120)} == {WORKER_KILL, POSTGRES_RESTART, TEMPORAL_RESTART, API_KILL}


def test_stripe_faults_converge_on_five_percent_through_every_mode() -> None:
    carried, armed = 0.0, 0
    for requests in [7, 13, 1, 40, 19, 20]:  # 100 requests in uneven batches
        due, carried = stripe_faults_due(requests, 0.05, carried)
        armed += due
    assert armed == 5
    names = {stripe_fault_name(stripe_fault(i)) for i in range(len(STRIPE_MODES))}
    assert names == {
        "stripe_429",
        "stripe_500",
        "stripe_slow",
        "stripe_drop",
        "stripe_500_after",
        "stripe_drop_after",
    }
    assert stripe_fault(0)["count"] == 1


def test_the_result_line_leads_with_the_goals() -> None:
    line = result_line(
        Counter({WORKER_KILL: 3, "stripe_429": 2}),
        {"accepted": 10, "refused": 1, "lost": 1},
        2,
        ["ws1: charge: invoice A is paid 2 times at Stripe", "ws2: events: sequence 2 appears 2 times"],
        None,
        {"subscriptions": 5},
    )
    assert list(line)[:7] == [
        "name",
        "faults_injected",
        "commands_accepted",
        "commands_lost",
        "duplicate_charges",
        "invariant_violations",
        "recovered_s",
    ]
    assert (line["faults_injected"], line["commands_accepted"], line["commands_lost"]) == (5, 10, 1)
    assert (line["duplicate_charges"], line["invariant_violations"], line["recovered_s"]) == (2, 2, None)
    assert line["violations_by_check"] == {"charge": 1, "events": 1}
    assert line["subscriptions"] == 5

"""The chaos benchmark's pure parts: the fault schedule, the Stripe fault mix, the result line.

Kept apart from `bench.chaos` (which runs servers) so a unit test checks them in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

WORKER_KILL = "worker_sigkill"
POSTGRES_RESTART = "postgres_restart"
TEMPORAL_RESTART = "temporal_restart"
API_KILL = "api_sigkill"
# The Stripe emulator's modes (devstack/stripe_emulator/faults.py); "after" variants execute the
# request and lose its response: the retry must find what the lost response created.
STRIPE_MODES: tuple[dict[str, Any], ...] = (
    {"mode": "429"},
    {"mode": "500"},
    {"mode": "slow", "delay_s": 3.0},
    {"mode": "drop"},
    {"mode": "500", "after": True},
    {"mode": "drop", "after": True},
)
# Two process faults closer than this are spread apart: each one's effect stays attributable.
MIN_GAP_S = 4.0


@dataclass(frozen=True, order=True)
class Fault:
    """One process fault, ``at_s`` seconds into the fault window."""

    at_s: float
    kind: str


def schedule(window_s: float, worker_every_s: float = 20.0) -> list[Fault]:
    """The process faults of a ``window_s`` window, in time order.

    The worker is SIGKILLed every ``worker_every_s``; PostgreSQL restarts twice (at 30 % and
    70 %), Temporal once (50 %), the API is SIGKILLed mid-request twice (40 %, 85 %). A fault
    that would land within `MIN_GAP_S` of an earlier one moves later.
    """
    wanted = [Fault(t, WORKER_KILL) for t in _every(worker_every_s, window_s)]
    singles = [(0.3, POSTGRES_RESTART), (0.7, POSTGRES_RESTART), (0.5, TEMPORAL_RESTART)]
    singles += [(0.4, API_KILL), (0.85, API_KILL)]
    placed: list[Fault] = sorted(wanted)
    for share, kind in singles:
        at = share * window_s
        while any(abs(f.at_s - at) < MIN_GAP_S for f in placed):
            at += 1.0
        placed = sorted([*placed, Fault(round(at, 1), kind)])
    return placed


def _every(step: float, window_s: float) -> list[float]:
    times, t = [], step
    while t < window_s:
        times.append(t)
        t += step
    return times


def stripe_faults_due(requests_since: int, rate: float, carried: float) -> tuple[int, float]:
    """How many Stripe faults to arm for ``requests_since`` new requests at ``rate`` (0.05 for
    5 %); the fractional remainder carries to the next call so the mix converges on the rate."""
    exact = requests_since * rate + carried
    due = int(exact)
    return due, exact - due


def stripe_fault(index: int) -> dict[str, Any]:
    """The ``index``-th fault of the rotation (every mode in turn), count 1."""
    return {**STRIPE_MODES[index % len(STRIPE_MODES)], "count": 1}


def stripe_fault_name(spec: Mapping[str, Any]) -> str:
    """``stripe_429``, ``stripe_slow``, ``stripe_drop_after``... for the JSON line."""
    return "stripe_" + str(spec["mode"]) + ("_after" if spec.get("after") else "")


def result_line(
    faults: Counter[str],
    commands: Mapping[str, int],
    duplicate_charges: int,
    violations: list[str],
    recovered_s: float | None,
    details: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON result: the five goals first, then how they were obtained."""
    by_check = Counter(line.split(": ")[1] for line in violations if line.count(": ") >= 2)
    return {
        "name": "chaos",
        "faults_injected": sum(faults.values()),
        "commands_accepted": commands.get("accepted", 0),
        "commands_lost": commands.get("lost", 0),
        "duplicate_charges": duplicate_charges,
        "invariant_violations": len(violations),
        "recovered_s": round(recovered_s, 1) if recovered_s is not None else None,
        "faults": dict(sorted(faults.items())),
        "commands": dict(commands),
        "violations_by_check": dict(sorted(by_check.items())),
        # A few of each kind: one kind in the thousands (a backlog) must not hide a rarer one.
        "violation_samples": [
            line for check in sorted(by_check) for line in [v for v in violations if f": {check}: " in v][:4]
        ],
        **details,
    }

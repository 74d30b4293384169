"""Per-subscription-month costs (issue 17 goal 5): what one subscription costs Temporal, Stripe
and PostgreSQL over months of its life.

``uv run python -m bench.costs [--months 12]``

Four representative workspaces, each run as a scenario through `tenure simulate`'s runner on
one private stack (Temporal's time-skipping server, embedded PostgreSQL, the Stripe emulator;
the real workers, workflows and activities, `simulate.runner.Run`), for ``--months`` months:

- ``seats_monthly_2``: `seats`, two members with a monthly Pro seat each;
- ``seats_annual_1``: `seats`, one annual Pro seat;
- ``credits_usage``: `credits`, Solo selected on day 1 (during the trial), usage every month
  (a 200-partition materialization and 60 serverless minutes);
- ``trial_converts``: `credits`, Starter selected on day 10 of the trial, billed from its end.

Every card is ``pm_card_visa``. For each case it counts (`bench.cost_counts`) the events of
every run of the subscription's workflow and of its invoice workflows (continue-as-new
followed), the Stripe requests the emulator served, and the rows and bytes PostgreSQL wrote,
and divides by the months lived. ``--copies`` runs each case that many times on the same
stack (the database's page-granular sizes average out).

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.cost_counts import (
    count_workflows,
    database_snapshot,
    stripe_requests_seen,
    stripe_requests_since,
)
from bench.stack import log, print_result
from billing.periods import add_months
from simulate.runner import Run
from simulate.scenario import parse_scenario
from simulate.stack import Stack, private_stack

SEATS_START = datetime(2027, 1, 5, 9, tzinfo=UTC)
CREDITS_START = datetime(2027, 1, 1, 9, tzinfo=UTC)


def _z(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _end(start: datetime, months: int) -> datetime:
    """An hour before the instant ``months`` periods after ``start`` renew: ``months`` months lived."""
    return add_months(start, months) - timedelta(hours=1)


def _header(catalog: str, start: datetime, months: int, workspace: str, admin_role: str) -> str:
    return (
        f"catalog: {catalog}\nstart: {_z(start)}\nend: {_z(_end(start, months))}\n"
        f"workspace:\n  id: {workspace}\n  members:\n"
        f"    - {{user: alice, role: {admin_role}, role_granted_at: 2026-12-01T00:00:00Z}}\n"
    )


def seats_monthly(months: int, seats: int = 2) -> str:
    """A `seats` workspace whose ``seats`` members each hold a monthly Pro seat."""
    users = ["alice", *(f"user{n}" for n in range(1, seats))]
    text = _header("seats", SEATS_START, months, "seats-monthly", "admin")
    text += "".join(f"    - {{user: {u}, role: member}}\n" for u in users[1:])
    text += "steps:\n"
    for user in users:
        text += f"  - at: {_z(SEATS_START)}\n    assign_seat: {{user: {user}, type: pro, cycle: monthly}}\n"
    return text


def seats_annual(months: int) -> str:
    """A `seats` workspace with one annual Pro seat."""
    text = _header("seats", SEATS_START, months, "seats-annual", "admin")
    return (
        text
        + f"steps:\n  - at: {_z(SEATS_START)}\n    assign_seat: {{user: alice, type: pro, cycle: annual}}\n"
    )


def credits_usage(months: int) -> str:
    """A `credits` workspace on Solo (chosen on day 1 of its trial) reporting usage monthly."""
    text = _header("credits", CREDITS_START, months, "credits-usage", "org_admin")
    text += f"steps:\n  - at: {_z(CREDITS_START + timedelta(days=1))}\n    select_plan: {{plan: solo}}\n"
    for month in range(months):
        at = add_months(CREDITS_START, month) + timedelta(days=14, hours=8)
        text += (
            f"  - at: {_z(at)}\n    usage:\n      events:\n"
            "        - {kind: asset_materialization, partitions: 200}\n"
            "        - {kind: serverless_minutes, minutes: 60}\n"
        )
    return text


def trial_converts(months: int) -> str:
    """A `credits` trial that converts: Starter chosen on day 10, billed from the trial's end."""
    text = _header("credits", CREDITS_START, months, "trial-converts", "org_admin")
    return (
        text
        + f"steps:\n  - at: {_z(CREDITS_START + timedelta(days=10))}\n    select_plan: {{plan: starter}}\n"
    )


# Temporal Cloud's pay-as-you-go prices (Business plan and above), read on 2026-12-08 from
# https://docs.temporal.io/cloud/pricing (temporalio/documentation, docs/evaluate/cloud/pricing.mdx):
# (actions in the tier, USD per million); beyond 200 M "contact Sales": priced at the last tier.
ACTION_TIERS = [(5e6, 50.0), (5e6, 45.0), (10e6, 40.0), (30e6, 35.0), (50e6, 30.0), (100e6, 25.0)]
ACTIVE_GBH_USD, RETAINED_GBH_USD, HOURS_PER_MONTH = 0.042, 0.00105, 744
PLAN_MINIMUM_USD, PLAN_SHARE = 500.0, 0.10  # Business: the greater of $500 or 10 % of usage
STRIPE_LIVE_LIMIT = 100  # requests/s per account (https://docs.stripe.com/rate-limits)
STRIPE_ENDPOINT_LIMIT = 25  # requests/s per endpoint unless noted (same page)


def action_price_usd(actions: float) -> float:
    """Pay-as-you-go price of ``actions`` in one month (`ACTION_TIERS`)."""
    price, left = 0.0, actions
    for size, per_million in ACTION_TIERS:
        taken = min(left, size)
        price, left = price + taken / 1e6 * per_million, left - taken
    return price + left / 1e6 * ACTION_TIERS[-1][1]


def fleet_projection(
    per_month: dict[str, float], subscriptions: int, retention_days: int = 30
) -> dict[str, float]:
    """What ``subscriptions`` subscriptions of the measured kind cost on Temporal Cloud in a month,
    and how long one Stripe account takes to collect all their invoices at one instant.

    An estimate: actions as counted from histories (no queries, heartbeats or fleet-wide
    workflows), storage as the serialized size of the events; every subscription keeps one run
    of one period open (active storage) and closed runs are retained ``retention_days``.
    """
    actions = per_month["actions"] * subscriptions
    active_gb = per_month["subscription_history_bytes"] * subscriptions / 1e9
    retained_gb = per_month["history_bytes"] * subscriptions * retention_days / 30 / 1e9
    storage = (active_gb * ACTIVE_GBH_USD + retained_gb * RETAINED_GBH_USD) * HOURS_PER_MONTH
    usage = action_price_usd(actions) + storage
    requests_per_invoice = per_month["stripe_invoice_requests"] / max(per_month["invoices"], 1e-9)
    # Each invoice calls each of its three endpoints once: the per-endpoint limit binds first.
    invoices_per_s = min(STRIPE_LIVE_LIMIT / requests_per_invoice, STRIPE_ENDPOINT_LIMIT)
    return {
        "subscriptions": subscriptions,
        "actions_per_month": round(actions),
        "actions_usd": round(action_price_usd(actions)),
        "active_storage_gb": round(active_gb, 1),
        "retained_storage_gb": round(retained_gb, 1),
        "storage_usd": round(storage),
        "plan_usd": round(max(PLAN_MINIMUM_USD, PLAN_SHARE * usage)),
        "total_usd_per_month": round(usage + max(PLAN_MINIMUM_USD, PLAN_SHARE * usage)),
        "stripe_requests_per_invoice": round(requests_per_invoice, 2),
        "stripe_burst_hours_one_account": round(subscriptions / invoices_per_s / 3600, 1),
    }


CASES: dict[str, Callable[[int], str]] = {
    "seats_monthly_2": seats_monthly,
    "seats_annual_1": seats_annual,
    "credits_usage": credits_usage,
    "trial_converts": trial_converts,
}


async def measure_case(stack: Stack, name: str, scenario: str) -> dict[str, Any]:
    """Run one scenario on ``stack``; what it cost Temporal, Stripe and PostgreSQL, in total.

    The stack must be shared (``private=False``): its database and emulator counters are read
    before and after, so nothing else may use them meanwhile.
    """
    loaded = parse_scenario(scenario, source=name)
    db_before = await database_snapshot(stack.engine)
    stripe_before = await stripe_requests_seen(stack.stripe_url)
    started = time.perf_counter()
    run = Run(loaded, stack)
    document = await run.execute()
    wall_s = time.perf_counter() - started
    stripe = await stripe_requests_since(stack.stripe_url, stripe_before)
    ids = await run.engine.workflow_ids()
    history = await count_workflows(stack.env.client, ids)
    subscription = await count_workflows(stack.env.client, ids[:1])
    database = (await database_snapshot(stack.engine)).since(db_before)
    return {
        "invoices": len(document["invoices"]),
        "invoice_statuses": dict(Counter(i["status"] for i in document["invoices"])),
        "rejected_updates": len(document.get("rejected", [])),
        "wall_s": round(wall_s, 2),
        "history": history.to_json() | {"by_type": dict(sorted(history.by_type.items()))},
        # The subscription's own runs: one is always open (Temporal Cloud's active storage).
        "subscription_history": subscription.to_json(),
        "stripe_requests": sum(stripe.values()),
        # Those of invoices (create, items, pay, retrieve): not the card's customer and SetupIntent.
        "stripe_invoice_requests": sum(n for kind, n in stripe.items() if " /v1/invoice" in kind),
        "stripe_by_kind": dict(sorted(stripe.items())),
        "database": database,
    }


def _per_month(case: dict[str, Any], months: int, copies: int) -> dict[str, float]:
    """The headline figures per subscription-month."""
    per = months * copies
    history, database = case["history"], case["database"]
    actions = history["actions"] + case["rejected_updates"]  # a rejected Update is billed too
    figures = {
        "workflow_tasks": history["workflow_tasks"],
        "history_events": history["events"],
        "history_bytes": history["history_bytes"],
        "subscription_history_bytes": case["subscription_history"]["history_bytes"],
        "activities": history["activities"] + history["local_activities"],
        "timers": history["timers"],
        "signals": history["signals"],
        "updates": history["updates"],
        "continue_as_new": history["continue_as_new"],
        "actions": actions,
        "stripe_requests": case["stripe_requests"],
        "stripe_invoice_requests": case["stripe_invoice_requests"],
        "invoices": case["invoices"],
        "db_rows_written": database["inserted"] + database["updated"] + database["deleted"],
        "db_rows_inserted": database["inserted"],
        "db_row_bytes": database["row_bytes"],
        "db_relation_bytes": database["relation_bytes"],
        "db_wal_bytes": database["wal_bytes"],
    }
    return {k: round(v / per, 2) for k, v in figures.items()}


def _sum_cases(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Add the copies of one case (same keys, numbers added, per-kind counters merged)."""

    def merge(a: Any, b: Any, key: str = "") -> Any:
        if isinstance(a, dict):
            return {k: merge(a.get(k, 0), b.get(k, 0), k) for k in a.keys() | b.keys()}
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return max(a, b) if key.startswith("max_") else a + b
        return a

    total = runs[0]
    for other in runs[1:]:
        total = merge(total, other)
    return total


def _commit() -> str:
    root = Path(__file__).resolve().parents[1]
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


async def measure(months: int, copies: int, cases: list[str]) -> dict[str, Any]:
    """Every case ``copies`` times on one private stack, in total and per subscription-month."""
    result: dict[str, Any] = {"name": "costs", "commit": _commit(), "months": months, "copies": copies}
    async with private_stack() as own:
        shared = Stack(env=own.env, engine=own.engine, stripe_url=own.stripe_url, private=False)
        for name in cases:
            runs = []
            for copy in range(copies):
                runs.append(await measure_case(shared, name, CASES[name](months)))
                last = runs[-1]
                history = last["history"]
                log(
                    f"{name} #{copy + 1}: {last['invoices']} invoices, {history['workflow_tasks']}"
                    f" workflow tasks, {history['events']} events, {last['stripe_requests']} Stripe"
                    f" requests, {last['wall_s']} s"
                )
            total = _sum_cases(runs)
            result[name] = {
                "per_subscription_month": _per_month(total, months, copies),
                "max_run_events": total["history"]["max_run_events"],
                "max_run_bytes": total["history"]["max_run_bytes"],
                "total": total,
            }
    headline = [result[name]["per_subscription_month"] for name in cases]
    mean = {k: round(sum(h[k] for h in headline) / len(headline), 2) for k in headline[0]}
    result["mean_per_subscription_month"] = mean
    result["projection_1m"] = fleet_projection(mean, 1_000_000)
    return result


def main() -> None:
    """Parse arguments, run, print one JSON line (Temporal's core logs to fd 1: kept off stdout)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--copies", type=int, default=1, help="runs of each case on the same stack")
    parser.add_argument("--case", action="append", choices=sorted(CASES), help="only these (repeatable)")
    args = parser.parse_args()
    print_result(measure(args.months, args.copies, args.case or list(CASES)))


if __name__ == "__main__":
    main()

"""Invoice storm: N subscriptions renew at the same instant and their invoices drain through Stripe.

``uv run python -m bench.invoice_storm [--subscriptions 2000] [--rate 30] [--emulator-rate-limit 100]``

1. Starts the stack of `bench.stack` with the Stripe emulator enforcing Stripe's global rate
   limit (``--emulator-rate-limit``, live mode's 100 requests/s by default), and the worker
   with ``TENURE_STRIPE_ACTIVITIES_PER_SECOND=--rate`` (the Stripe task queue's server-side
   activity rate).
2. Registers N seats workspaces (an admin holding one Pro seat) and gives each a
   ``pm_card_visa`` card. Every subscription starts already active: its state is computed
   with the pure domain (checkout at A = 2026-09-01 00:00 UTC, checkout invoice paid), so its
   period ends at E = A + 1 month, and the seats catalog is copied with
   ``invoice_draft_minutes=0`` so the renewal invoice posts at E. A period is anchored on its
   checkout instant, so a shared E needs a shared A: the wall clock is brought to the
   subscriptions' calendar with ``clock_offset_seconds = E - W`` for one wall-clock instant W
   a little after the last subscription has started and been cached (queried once).
3. At W every subscription renews and posts its invoice; each `InvoiceWorkflow` collects its
   invoice on the rate-limited Stripe task queue. Measured from W until every invoice is
   ``paid`` in PostgreSQL: invoices/s over the whole drain and over its steady part (the
   10th to the 90th percentile of completions), the emulator's 429s during the drain, and
   duplicates (Stripe invoices and ``invoice.paid`` events per invoice number, rows against N).

Prints one JSON line on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psutil
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.invoice_drain import Drain, emulator_stats, steady_rate, stripe_duplicates, watch_drain
from bench.load import bounded
from bench.payments import Cards, stripe_queue
from bench.stack import Stack, log, run_on_stack
from bench.storm_probe import DrainProbe, renewal_costs
from billing import (
    AssignSeat,
    BillingState,
    Catalog,
    Member,
    add_months,
    apply,
    load_catalog,
    new_subscription,
    on_invoice_event,
)
from billing.workspace import Member as WorkspaceMember
from contracts.workspace import WorkspaceSetup
from db.engine import async_engine, session_factory
from services.workspaces import store_workspace
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

ANCHOR = datetime(2026, 9, 1, tzinfo=UTC)  # A: every checkout, hence every period, starts here
RENEWAL = add_months(ANCHOR, 1)  # E
ADMIN = "admin"
SETUP_CONCURRENCY = 32
# Giving cards goes through the rate-limited emulator too (several calls per card): fewer at
# once keeps setup near the limit instead of far over it, and each card is retried on a 429.
CARD_CONCURRENCY = 8
CARD_ATTEMPTS = 20
# Starting and caching a subscription (a start, its first workflow task, one query) ran at
# 25 (N = 2,000) to 43 (N = 100) per second on the 2-vCPU box; W is placed for 20 per second
# plus a fixed margin, so a busier box still finishes before W (the JSON says the slack left).
START_RATE_ASSUMED = 20.0
# The drain is given time for 2 invoices per second plus a fixed margin: at --rate 25 it ran
# at 4-10 per second on the 2-vCPU box, bound by renewing and posting (workflow tasks on the
# main task queue), not by Stripe; N = 2,000 did not finish in 440 s.
DRAIN_RATE_FLOOR = 2.0
DRAIN_MARGIN_S = 120.0
START_MARGIN_S = 20.0
T = TypeVar("T")


def active_state(workspace_id: str, catalog: Catalog) -> BillingState:
    """An active Business subscription, one Pro seat, checkout at A, checkout invoice paid."""
    members = {ADMIN: Member(role="admin", role_granted_at=ANCHOR)}
    started = new_subscription(workspace_id, catalog, ANCHOR, members)
    seat = AssignSeat(request_id="checkout", actor=ADMIN, user=ADMIN, seat_type="pro")
    checkout = apply(started.state, seat, ANCHOR, catalog)
    number = checkout.result.invoice_number if checkout.result is not None else None
    if checkout.state.status != "active" or number is None:
        raise RuntimeError(f"checkout did not activate {workspace_id}: {checkout.state.status}")
    state = on_invoice_event(checkout.state, number, "paid", ANCHOR, catalog).state
    if state.period_end != RENEWAL:
        raise RuntimeError(f"period ends at {state.period_end}, expected {RENEWAL}")
    return state


async def _retry(call: Callable[[], Awaitable[T]], attempts: int, what: str) -> T:
    """``call()`` until it succeeds, backing off a little more each time."""
    for attempt in range(1, attempts):
        try:
            return await call()
        except Exception as error:
            if attempt == 1 or attempt % 5 == 0:
                log(f"{what}: {type(error).__name__}, retrying ({attempt}/{attempts})")
            await asyncio.sleep(min(0.5 * attempt, 3.0))
    return await call()


async def _for_all(limit: int, items: list[T], job: Callable[[T], Awaitable[Any]]) -> None:
    async def one(item: T) -> None:
        await job(item)

    await bounded(limit, [functools.partial(one, item) for item in items])


async def prepare_workspaces(engine: AsyncEngine, cards: Cards, ids: list[str]) -> None:
    """Register each workspace (the admin is the seat holder) and give it a card."""
    registry = session_factory(engine)

    async def register(ws: str) -> None:
        member = WorkspaceMember(user_id=ADMIN, role="admin", role_granted_at=ANCHOR)
        await store_workspace(registry, WorkspaceSetup(workspace_id=ws, members=[member]))

    async def card(ws: str) -> None:
        await _retry(lambda: cards.give(ws), CARD_ATTEMPTS, f"card for {ws}")

    await _for_all(SETUP_CONCURRENCY, ids, register)
    await _for_all(CARD_CONCURRENCY, ids, card)


async def start_subscriptions(
    client: Client, queue: str, catalog: Catalog, ids: list[str], w: datetime
) -> list[datetime]:
    """Start every subscription on the calendar that puts E at W, and query each once so it
    is cached and waiting on its renewal timer; returns when each became ready."""
    offset = round((RENEWAL - w).total_seconds())
    ready: list[datetime] = []

    async def start(ws: str) -> None:
        begin = SubscriptionStart(
            workspace_id=ws,
            catalog=catalog,
            state=active_state(ws, catalog),
            stripe_task_queue=stripe_queue(queue),
            clock_offset_seconds=offset,
        )
        handle: WorkflowHandle[SubscriptionWorkflow, str] = await client.start_workflow(
            SubscriptionWorkflow.run, begin, id=workflow_id(ws), task_queue=queue
        )
        await _retry(lambda: handle.query(SubscriptionWorkflow.state), 60, f"query {ws}")
        ready.append(datetime.now(UTC))

    await _for_all(SETUP_CONCURRENCY, ids, start)
    return ready


async def bench(
    subscriptions: int, rate: float, emulator_limit: float, stack: Stack, history_sample: int = 300
) -> dict[str, Any]:
    """Run the storm on a started stack; the result line as a dict."""
    queue = f"storm-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    ids = [f"storm-{tag}-{i:05d}" for i in range(subscriptions)]
    # Room for every subscription run, its next run and its invoice workflow.
    stack.start_worker(queue, max_cached=3 * subscriptions + 100)
    client = await Client.connect(stack.temporal.address, data_converter=pydantic_data_converter)
    engine = async_engine(stack.postgres.url, pool_size=SETUP_CONCURRENCY)
    catalog = load_catalog("seats").model_copy(update={"invoice_draft_minutes": 0})
    try:
        log(f"worker ready (Stripe activities {rate:g}/s, emulator limit {emulator_limit:g} req/s)")
        began = time.monotonic()
        await prepare_workspaces(engine, Cards(stack.stripe.url, engine), ids)
        cards_s = time.monotonic() - began
        setup_stats = await emulator_stats(stack.stripe.url)
        log(
            f"{subscriptions} workspaces registered with a card in {cards_s:.0f} s "
            f"({setup_stats['requests']} Stripe requests, {setup_stats['rate_limited']} of them 429)"
        )
        budget = START_MARGIN_S + subscriptions / START_RATE_ASSUMED
        w = datetime.now(UTC) + timedelta(seconds=budget)
        log(f"starting {subscriptions} subscriptions; all renew at W = {w:%H:%M:%S} (in {budget:.0f} s)")
        began = time.monotonic()
        ready = await start_subscriptions(client, queue, catalog, ids, w)
        start_s = time.monotonic() - began
        slack_s = (w - max(ready)).total_seconds()
        late = sum(1 for r in ready if r >= w)
        log(f"started and cached in {start_s:.0f} s, {slack_s:.1f} s before W ({late} late)")
        await asyncio.sleep(max(0.0, (w - datetime.now(UTC)).total_seconds() - 0.2))
        at_w = await emulator_stats(stack.stripe.url)
        psutil.cpu_percent(None)  # starts the machine-wide CPU window read after the drain
        load_before = os.getloadavg()[0]
        log("W: every subscription renews now")
        w_monotonic = time.monotonic() - (datetime.now(UTC) - w).total_seconds()
        probe = DrainProbe(stack.stripe.url, stack.worker, w_monotonic)
        stop_probe = asyncio.Event()
        sampling = asyncio.create_task(probe.run(stop_probe))
        drain = await watch_drain(
            engine, tag, subscriptions, w, timeout_s=DRAIN_MARGIN_S + subscriptions / DRAIN_RATE_FLOOR
        )
        stop_probe.set()
        await sampling
        cpu_percent = psutil.cpu_percent(None)
        load_after = os.getloadavg()[0]
        after = await emulator_stats(stack.stripe.url)
        log(f"drain over: {drain.paid}/{subscriptions} paid, last at W+{drain.paid_after_s[-1]:.1f} s")
        duplicates = await stripe_duplicates(stack.stripe.url, tag)
        log(f"reading the histories of {min(history_sample, subscriptions)} renewals")
        costs = await renewal_costs(client, engine, ids, w, history_sample)
    finally:
        await engine.dispose()
    return result_line(
        subscriptions,
        rate,
        emulator_limit,
        drain,
        duplicates,
        {
            "requests": after["requests"] - at_w["requests"],
            "rate_limited": after["rate_limited"] - at_w["rate_limited"],
        },
        setup_stats,
        {"cards_s": cards_s, "start_s": start_s, "slack_s": slack_s, "late": late, "cpu": cpu_percent},
        {
            "stripe_requests_per_s": probe.steady_rate(drain.paid_after_s),
            "worker_rss_mib": probe.peak_rss_mib,
            "load": (load_before, load_after),
            **costs,
        },
    )


def result_line(
    subscriptions: int,
    rate: float,
    emulator_limit: float,
    drain: Drain,
    duplicates: dict[str, int],
    drain_stats: dict[str, int],
    setup_stats: dict[str, int],
    setup: dict[str, float],
    probe: dict[str, Any],
) -> dict[str, Any]:
    """The JSON result: throughput, 429s and duplicates first, then how they were obtained."""
    last = drain.paid_after_s[-1] if drain.paid_after_s else None
    steady = steady_rate(drain.paid_after_s)
    posting = steady_rate(drain.posted_after_s)
    per_s = probe.pop("stripe_requests_per_s")
    utilisation = round(per_s / emulator_limit, 3) if per_s is not None else None
    load_before, load_after = probe.pop("load")
    return {
        "name": "invoice_storm",
        "subscriptions": subscriptions,
        "stripe_activities_per_s": rate,
        "emulator_rate_limit_per_s": emulator_limit,
        "stripe_requests_per_s": round(per_s, 2) if per_s is not None else None,
        "stripe_budget_utilisation": utilisation,
        "ratio_to_ceiling": utilisation,
        "invoices_paid": drain.paid,
        "drain_s": round(last, 2) if last is not None else None,
        "invoices_per_s": round(drain.paid / last, 2) if last else None,
        "steady_invoices_per_s": round(steady, 2) if steady is not None else None,
        "ratio_to_configured_rate": round(steady / rate, 3) if steady is not None else None,
        "steady_posted_per_s": round(posting, 2) if posting is not None else None,
        "worker_rss_mib": round(probe.pop("worker_rss_mib"), 1),
        **probe,
        "cpu_busy_percent": round(setup["cpu"], 1),
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
        "rate_limited_429": drain_stats["rate_limited"],
        "stripe_requests": drain_stats["requests"],
        "stripe_requests_per_invoice": round(drain_stats["requests"] / drain.paid, 2) if drain.paid else None,
        **duplicates,
        "rows": drain.rows,  # one per invoice number (the primary key): fewer than N = some never posted
        "timed_out": drain.timed_out,
        "first_posted_after_s": round(drain.posted_after_s[0], 2) if drain.posted_after_s else None,
        "all_posted_after_s": round(drain.posted_after_s[-1], 2) if drain.posted_after_s else None,
        "first_paid_after_s": round(drain.paid_after_s[0], 2) if drain.paid_after_s else None,
        "setup_stripe_requests": setup_stats["requests"],
        "setup_rate_limited_429": setup_stats["rate_limited"],
        "setup_cards_s": round(setup["cards_s"], 1),
        "setup_start_s": round(setup["start_s"], 1),
        "slack_before_w_s": round(setup["slack_s"], 1),
        "late_starts": int(setup["late"]),
        "method": {
            "storm": "N seats subscriptions started active (checkout at 2026-09-01, computed with billing) "
            "with clock offsets putting their renewal at one wall-clock instant W after all were started "
            "and queried; seats catalog with invoice_draft_minutes=0, so each posts its invoice at W",
            "drain": "from W to the last invoices row with status paid (PostgreSQL updated_at)",
            "steady_invoices_per_s": "completions between the 10th and 90th percentile / their time span",
            "steady_posted_per_s": "the same over created_at (rows persisted by InvoiceWorkflow)",
            "cpu_busy_percent": "machine-wide CPU busy over the drain (psutil; every process of the stack)",
            "stripe_requests_per_s": "the emulator's /v1 requests per second between the 10th and 90th "
            "percentile of completions (its counter sampled every 0.5 s, interpolated)",
            "ratio_to_ceiling": "stripe_budget_utilisation = stripe_requests_per_s / the emulator's enforced "
            "limit (Stripe's live-mode 100/s by default): the physical ceiling is Stripe's",
            "ratio_to_configured_rate": "steady_invoices_per_s / the Stripe queue's configured activity rate",
            "worker_rss_mib": "peak resident memory of the worker process during the drain (0.5 s samples)",
            "workflow_tasks_per_renewal": "completed workflow tasks at or after W in every run of a sampled "
            "subscription and its renewal's invoice workflow (history_sample of them), per renewal; "
            "activities_per_renewal and continue_as_new_per_renewal likewise",
            "workflow_task_timeouts": "WORKFLOW_TASK_TIMED_OUT events at or after W in the sample, scaled "
            "to N",
            "rate_limited_429": "the emulator's rate-limiter 429s between W and the end of the drain "
            "(GET /_emulator/stats); stripe_requests counts every /v1 request in that window",
            "duplicates": "Stripe invoices and invoice.paid events per our invoice number (metadata.number, "
            "listed with the SDK after the drain); rows in invoices against N",
        },
    }


def main() -> None:
    """Parse arguments, run, print the JSON line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.invoice_storm", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--subscriptions", type=int, default=2000)
    # 30 collections/s x 3 requests (create, item, pay) = 90 % of Stripe's live 100/s: the
    # product's default of 25/s would cap the budget utilisation at 0.75 by itself.
    parser.add_argument("--rate", type=float, default=30.0, help="Stripe activities per second")
    parser.add_argument(
        "--emulator-rate-limit", type=float, default=100.0, help="the emulator's /v1 requests per second"
    )
    parser.add_argument("--history-sample", type=int, default=300, help="renewals whose histories are read")
    args = parser.parse_args()
    run_on_stack(
        "tenure-storm-",
        lambda tmp: Stack(
            tmp,
            emulator_args=["--rate-limit", f"{args.emulator_rate_limit:g}"],
            worker_env={"TENURE_STRIPE_ACTIVITIES_PER_SECOND": f"{args.rate:g}"},
        ),
        lambda stack: bench(
            args.subscriptions, args.rate, args.emulator_rate_limit, stack, args.history_sample
        ),
    )


if __name__ == "__main__":
    main()

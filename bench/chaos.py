"""Chaos benchmark (issue 18): seat changes over HTTP and a month-start renewal burst while the
stack is killed, restarted and lied to; then the invariant checker (`tenure verify`) over
every workspace.

``uv run python -m bench.chaos [--subscriptions 500 --seconds 180] [--small]``

1. Starts, in a temporary directory on free ports: embedded PostgreSQL, the Temporal dev
   server (SQLite file), the Stripe emulator, an SMTP sink, and Tenure's own processes as
   production runs them: ``tenure worker`` and ``tenure api``. The emulator's webhooks go
   to the API through `bench.chaos_relay` (Stripe-like at-least-once delivery: duplicated,
   delayed, out of order); Tenure's outbound webhooks go to the relay's consumer.
2. Registers N seats workspaces (an admin holding a Pro seat, `MEMBERS` members, a
   ``pm_card_visa`` card each) and starts their subscriptions already active with clock
   offsets that put their renewal at one wall-clock instant W, a quarter into the fault
   window (as `bench.invoice_storm`); the catalog posts invoices at once
   (``invoice_draft_minutes=0``), so every seat change and the renewal burst are charged
   through Stripe while faults run.
3. Fault window: ``--callers`` HTTP callers assign and unassign seats (each request with its
   own ``Idempotency-Key``, retried with the same key on a 5xx, a 429 or a lost connection,
   as a careful client does) while `bench.chaos_faults.schedule` runs: the worker SIGKILLed
   and restarted every 20 s, PostgreSQL restarted (fast shutdown) twice, the Temporal dev
   server restarted once on its SQLite file, the API SIGKILLed mid-request twice; Stripe
   faults (429, 500, slow, dropped connections, before and after the request executes) are
   armed for 5 % of the emulator's requests.
4. Recovery: faults off, then the checker runs over every workspace (and the accepted
   commands are looked up in the workflows and the audit log) until clean or
   ``--recovery-seconds``; ``recovered_s`` is from the last fault to the first clean pass.

Prints one JSON line on stdout (`bench.chaos_faults.result_line`); progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import stripe

from bench.chaos_faults import (
    API_KILL,
    POSTGRES_RESTART,
    TEMPORAL_RESTART,
    WORKER_KILL,
    Fault,
    result_line,
    schedule,
    stripe_fault,
    stripe_fault_name,
    stripe_faults_due,
)
from bench.chaos_relay import Relay
from bench.invoice_drain import emulator_stats
from bench.invoice_storm import ANCHOR, RENEWAL
from bench.payments import STRIPE_API_KEY, Cards
from bench.stack import StripeEmulatorProcess, log, run_on_stack
from billing import AssignSeat, BillingState, Catalog, apply, load_catalog, new_subscription, on_invoice_event
from billing.state import Member
from billing.workspace import Member as WorkspaceMember
from billing.workspace import MemberSeat
from client import TenureClient
from config.settings import Settings
from contracts.errors import IDEMPOTENCY_KEY_IN_USE
from contracts.workspace import WorkspaceSetup
from db import verify_repo
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from db.tokens import issue
from devstack.ports import free_port, wait_for_port
from devstack.postgres import EmbeddedPostgres
from devstack.process import ChildProcess
from devstack.smtp_sink import SmtpSink
from devstack.temporal import TemporalDevServer
from services.base import UnitOfWork
from services.verify import StripeInvoiceSeen, VerifyService, Violation, list_stripe_invoices
from services.workspaces import store_workspace
from workflows.messages import SubscriptionStart, workflow_id
from workflows.subscription import SubscriptionWorkflow

ADMIN = "admin"
MEMBERS = [f"m{i}" for i in range(1, 6)]
SEAT = "pro"
WEBHOOK_SECRET = "whsec_tenure_chaos"
STRIPE_FAULT_RATE = 0.05
# How long one caller keeps retrying one request (same key): longer than the API's claim on
# a key whose process died mid-request (`services.idempotency.IN_FLIGHT_LOCK`, 2 minutes),
# so a caller outlives a crashed API's claim, as a client that keeps its key must.
CLIENT_DEADLINE_S = 180.0
SETUP_CONCURRENCY = 16


def _quiet(name: str, line: str) -> None:
    """Server logs are noise here; a server that fails to start raises."""


@dataclass
class Child:
    """A Tenure process (``tenure worker``/``tenure api``) we kill and start again."""

    name: str
    argv: list[str]
    env: dict[str, str]
    lines: list[str] = field(default_factory=list)
    child: ChildProcess | None = None

    def _sink(self, name: str, line: str) -> None:
        self.lines = [*self.lines[-30:], line]

    def start(self) -> None:
        self.child = ChildProcess(self.name, self.argv, self._sink, env=self.env)
        self.child.start()

    def kill(self) -> None:
        """SIGKILL the whole process group (no drain, no goodbye)."""
        if self.child is not None and self.child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child.pid, signal.SIGKILL)
            self.child.stop(timeout=5)
            self.child = None

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop(timeout=30)
            self.child = None


class ChaosStack:
    """Every server of `tenure dev`, each one restartable."""

    def __init__(self, tmp: Path, webhook_rate: float = 100.0) -> None:
        self.tmp = tmp
        self.webhook_rate = webhook_rate
        self.postgres = EmbeddedPostgres(tmp / "pg", free_port(), _quiet)
        self.temporal = TemporalDevServer(tmp / "temporal", free_port(), None, _quiet)
        self.stripe = StripeEmulatorProcess()
        self.smtp = SmtpSink(tmp / "mail", free_port())
        self.api_port = free_port()
        self.relay = Relay(f"http://127.0.0.1:{self.api_port}", free_port())
        self.worker: Child | None = None
        self.api: Child | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "TENURE_DATABASE_URL": self.postgres.url,
            "TEMPORAL_ADDRESS": self.temporal.address,
            "STRIPE_API_KEY": STRIPE_API_KEY,
            "TENURE_STRIPE_API_BASE": self.stripe.url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TENURE_API_HOST": "127.0.0.1",
            "TENURE_API_PORT": str(self.api_port),
            "TENURE_SMTP_HOST": "127.0.0.1",
            "TENURE_SMTP_PORT": str(self.smtp.port),
            "TENURE_SMTP_TLS": "none",
            "TENURE_LOG_FORMAT": "text",
            "TENURE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            # The consumer here is local and fast; the production default (20/s per endpoint)
            # protects a customer's server and drains the burst's ~2,800 events in ~140 s,
            # which is a backlog, not a fault (`--webhook-rate`).
            "TENURE_WEBHOOK_RATE_PER_SECOND": str(self.webhook_rate),
        }

    def settings(self) -> Settings:
        return Settings(
            database_url=self.postgres.url,
            temporal_address=self.temporal.address,
            stripe_api_key=STRIPE_API_KEY,
            stripe_api_base=self.stripe.url,
        )

    def start(self) -> None:
        self.postgres.start()
        upgrade(self.postgres.url)
        self.temporal.start()
        self.stripe.start()
        self.smtp.start()
        cli = [sys.executable, "-m", "cli.main"]
        self.worker = Child("worker", [*cli, "worker"], self.env())
        self.api = Child("api", [*cli, "api"], self.env())
        self.worker.start()
        self.api.start()
        if not wait_for_port("127.0.0.1", self.api_port, 120):
            raise RuntimeError("the API did not start:\n" + "\n".join(self.api.lines))
        deadline = time.monotonic() + 180
        while httpx.get(f"{self.api_url}/healthz?deep=true", timeout=30).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the stack is not healthy:\n" + "\n".join(self.worker.lines))
            time.sleep(1)

    def stop(self) -> None:
        for child in (self.api, self.worker):
            if child is not None:
                child.stop()
        self.smtp.stop()
        self.stripe.stop()
        self.temporal.stop()
        self.postgres.stop()


def active_state(ws: str, catalog: Catalog) -> BillingState:
    """Active Business, the admin holding a Pro seat since checkout at A, `MEMBERS` without seats."""
    members = {
        u: Member(role="admin" if u == ADMIN else "member", role_granted_at=ANCHOR) for u in [ADMIN, *MEMBERS]
    }
    started = new_subscription(ws, catalog, ANCHOR, members)
    checkout = apply(
        started.state,
        AssignSeat(request_id="checkout", actor=ADMIN, user=ADMIN, seat_type=SEAT),
        ANCHOR,
        catalog,
    )
    assert checkout.result is not None
    assert checkout.result.invoice_number is not None
    state = on_invoice_event(checkout.state, checkout.result.invoice_number, "paid", ANCHOR, catalog).state
    assert state.period_end == RENEWAL
    assert state.status == "active"
    # The checkout was computed here, not commanded over HTTP: nobody audited it, so the
    # workflow must not remember it either (the checker would rightly call it unaudited).
    return state.model_copy(update={"processed": {}})


async def _retrying(call: Any, attempts: int = 30) -> Any:
    for attempt in range(attempts):
        try:
            return await call()
        except Exception:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(min(0.5 * (attempt + 1), 3))


async def prepare(stack: ChaosStack, ids: list[str], catalog: Catalog, w: datetime) -> TenureClient:
    """Workspaces, cards and subscriptions whose renewal falls at W."""
    engine = async_engine(stack.postgres.url, pool_size=SETUP_CONCURRENCY)
    cards = Cards(stack.stripe.url, engine)
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    settings = stack.settings()
    tenure = await TenureClient.connect(settings)
    offset = round((RENEWAL - w).total_seconds())

    async def one(ws: str) -> None:
        async with gate:
            seat = MemberSeat(seat_type=SEAT, cycle="monthly")
            roster = [
                WorkspaceMember(
                    user_id=ADMIN, role="admin", role_granted_at=ANCHOR, email=f"{ws}@example.com", seat=seat
                )
            ]
            roster += [WorkspaceMember(user_id=u, role="member", role_granted_at=ANCHOR) for u in MEMBERS]
            await store_workspace(session_factory(engine), WorkspaceSetup(workspace_id=ws, members=roster))
            await _retrying(lambda: cards.give(ws))
            start = SubscriptionStart(
                workspace_id=ws,
                catalog=catalog,
                state=active_state(ws, catalog),
                stripe_task_queue=settings.stripe_task_queue,
                clock_offset_seconds=offset,
            )
            await tenure.temporal.start_workflow(
                SubscriptionWorkflow.run, start, id=workflow_id(ws), task_queue=settings.task_queue
            )

    try:
        await asyncio.gather(*(one(ws) for ws in ids))
    finally:
        await engine.dispose()
    return tenure


@dataclass
class Load:
    """HTTP callers changing seats; what the API accepted, per workspace, by request id."""

    api_url: str
    token: str
    ids: list[str]
    tenure: TenureClient
    holders: dict[str, set[str]] = field(default_factory=dict)
    busy: set[str] = field(default_factory=set)
    accepted: dict[str, list[str]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    # Non-2xx answers by the fault injected last before them ("none": before the first).
    after_fault: Counter[str] = field(default_factory=Counter)
    latest_fault: list[str] = field(default_factory=lambda: ["none"])
    samples: list[str] = field(default_factory=list)  # the first 5xx bodies
    running: bool = True

    async def caller(self, seed: int) -> None:
        rng = random.Random(seed)
        async with httpx.AsyncClient(base_url=self.api_url, timeout=30) as http:
            while self.running:
                ws = rng.choice(self.ids)
                if ws in self.busy:
                    await asyncio.sleep(0.01)
                    continue
                self.busy.add(ws)
                try:
                    await self._change(http, ws, rng.choice(MEMBERS))
                finally:
                    self.busy.discard(ws)

    async def _change(self, http: httpx.AsyncClient, ws: str, user: str) -> None:
        held = self.holders.setdefault(ws, {ADMIN})
        key = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {self.token}", "X-Acting-User": ADMIN, "Idempotency-Key": key}
        if user in held:
            request = http.build_request("DELETE", f"/v1/workspaces/{ws}/seats/{user}", headers=headers)
        else:
            request = http.build_request(
                "POST", f"/v1/workspaces/{ws}/seats", headers=headers, json={"user": user, "type": SEAT}
            )
        deadline, backoff = time.monotonic() + CLIENT_DEADLINE_S, 0.25
        while True:
            try:
                answer = await http.send(request)
                code, label = answer.status_code, _label(answer)
            except httpx.HTTPError as error:
                code, label = 0, type(error).__name__
            self.statuses[label] += 1
            if not 200 <= code < 300:
                self.after_fault[f"{self.latest_fault[0]}: {label}"] += 1
                if code >= 500 and len(self.samples) < 5:
                    self.samples.append(f"{label} {answer.text[:160]}")
            if 200 <= code < 300:
                self.outcomes["accepted"] += 1
                self.accepted.setdefault(ws, []).append(key)
                (held.discard if user in held else held.add)(user)
                return
            # 409 idempotency_key_in_use: the key's first request still runs (or its API
            # died, and the claim lapses): try again later, as Stripe's clients do.
            if 400 <= code < 500 and code != 429 and not label.endswith(IDEMPOTENCY_KEY_IN_USE):
                self.outcomes["refused"] += 1
                await self._resync(ws)
                return
            if time.monotonic() > deadline:
                self.outcomes["unanswered"] += 1
                await self._resync(ws)
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 4.0)

    async def _resync(self, ws: str) -> None:
        """After a refusal or no answer, learn who holds a seat from the workflow itself."""
        with contextlib.suppress(Exception):
            state = await asyncio.wait_for(self.tenure.state(ws), 10)
            self.holders[ws] = _held(state)


def _label(answer: httpx.Response) -> str:
    """A status, with the error code of a 4xx (a domain refusal and a key in use are both 409)."""
    if not 400 <= answer.status_code < 500:
        return str(answer.status_code)
    try:
        body = answer.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return f"{answer.status_code} {code}" if isinstance(code, str) else str(answer.status_code)


def _held(state: BillingState) -> set[str]:
    from billing import seats_held

    return set(seats_held(state))


@dataclass
class Chaos:
    """Runs the fault schedule against the stack; counts what it injected."""

    stack: ChaosStack
    faults: Counter[str] = field(default_factory=Counter)
    last_fault_at: float = 0.0
    timeline: list[str] = field(default_factory=list)
    latest: list[str] = field(default_factory=lambda: ["none"])  # shared with `Load.latest_fault`

    async def run(self, plan: list[Fault], began: float) -> None:
        for fault in plan:
            await asyncio.sleep(max(0.0, began + fault.at_s - time.monotonic()))
            log(f"fault at +{fault.at_s:.0f} s: {fault.kind}")
            self.timeline.append(f"+{time.monotonic() - began:.0f}s {fault.kind}")
            self.latest[0] = fault.kind
            await asyncio.to_thread(self._inject, fault.kind)
            self.faults[fault.kind] += 1
            self.last_fault_at = time.monotonic()

    def _inject(self, kind: str) -> None:
        s = self.stack
        if kind == WORKER_KILL and s.worker is not None:
            s.worker.kill()
            s.worker.start()
        elif kind == API_KILL and s.api is not None:
            s.api.kill()
            s.api.start()
        elif kind == POSTGRES_RESTART:
            s.postgres.stop()
            s.postgres.start()
        elif kind == TEMPORAL_RESTART:
            s.temporal.stop()
            s.temporal.start()

    async def stripe(self, running: asyncio.Event) -> None:
        """Arm one fault per 20 emulator requests (5 %), rotating through every mode."""
        async with httpx.AsyncClient(base_url=self.stack.stripe.url, timeout=10) as control:
            seen = (await emulator_stats(self.stack.stripe.url))["requests"]
            carried, index = 0.0, 0
            while running.is_set():
                await asyncio.sleep(0.5)
                with contextlib.suppress(httpx.HTTPError, KeyError):
                    now = (await emulator_stats(self.stack.stripe.url))["requests"]
                    due, carried = stripe_faults_due(now - seen, STRIPE_FAULT_RATE, carried)
                    seen = now
                    for _ in range(due):
                        spec = stripe_fault(index)
                        index += 1
                        if (
                            await control.post("/_emulator/faults", json={**spec, "path_prefix": "/v1/"})
                        ).status_code == 200:
                            self.faults[stripe_fault_name(spec)] += 1
                            self.last_fault_at = time.monotonic()
            await control.delete("/_emulator/faults")


async def lost_commands(
    stack: ChaosStack, tenure: TenureClient, accepted: dict[str, list[str]], concurrency: int = 8
) -> tuple[list[str], int]:
    """Accepted request ids missing from the workflow's memory or from the audit log, and how
    many could not be looked up (the workflow did not answer its query). Workspaces are
    looked up ``concurrency`` at a time (one by one, a pass over 500 took minutes)."""
    engine = async_engine(stack.postgres.url, pool_size=concurrency)
    gate = asyncio.Semaphore(concurrency)

    async def one(ws: str, keys: list[str]) -> tuple[list[str], int]:
        async with gate:
            try:
                state = await asyncio.wait_for(tenure.state(ws), 30)
            except Exception:
                return [], len(keys)
            async with session_factory(engine)() as session:
                audited = {r for _, r, _ in await verify_repo.audit(session, ws)}
        return [f"{ws}/{k}" for k in keys if k not in state.processed or k not in audited], 0

    try:
        found = await asyncio.gather(*(one(ws, keys) for ws, keys in accepted.items()))
    finally:
        await engine.dispose()
    return [k for lost, _ in found for k in lost], sum(n for _, n in found)


def checker(stack: ChaosStack, tenure: TenureClient, catalog: Catalog, engine: Any) -> VerifyService:
    sdk = stripe.StripeClient(STRIPE_API_KEY, base_addresses={"api": stack.stripe.url}, max_network_retries=8)

    async def clients() -> TenureClient:
        return tenure

    async def listed(customer: str) -> list[StripeInvoiceSeen]:
        return await list_stripe_invoices(sdk, customer)

    return VerifyService(
        UnitOfWork(session_factory(engine)), clients, lambda _: catalog, listed, grace=timedelta(seconds=0)
    )


async def bench(args: argparse.Namespace, stack: ChaosStack) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    ids = [f"chaos-{tag}-{i:04d}" for i in range(args.subscriptions)]
    catalog = load_catalog("seats").model_copy(update={"invoice_draft_minutes": 0})
    engine = async_engine(stack.postgres.url, pool_size=4)
    async with session_factory(engine).begin() as session:
        token = (await session.run_sync(lambda s: issue(s, "bench chaos", "service"))).secret
    await stack.relay.start()
    async with httpx.AsyncClient(timeout=10) as control:
        endpoint = {"url": f"http://127.0.0.1:{stack.relay.port}/stripe", "secret": WEBHOOK_SECRET}
        subscribed = await control.post(
            f"{stack.stripe.url}/_emulator/webhooks", json={**endpoint, "events": ["invoice.*"]}
        )
        subscribed.raise_for_status()
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
        created = await http.post(
            "/v1/webhook-endpoints",
            headers={"Authorization": f"Bearer {token}"},
            json={"url": f"http://127.0.0.1:{stack.relay.port}/consumer"},
        )
        created.raise_for_status()
    setup_budget = 30 + args.subscriptions / 8
    w = datetime.now(UTC) + timedelta(seconds=setup_budget + args.seconds * 0.25)
    log(f"preparing {args.subscriptions} workspaces; renewal burst W at {w:%H:%M:%S}")
    began_setup = time.monotonic()
    tenure = await prepare(stack, ids, catalog, w)
    setup_s = time.monotonic() - began_setup
    log(f"prepared in {setup_s:.0f} s; fault window of {args.seconds} s starts")
    load = Load(stack.api_url, token, ids, tenure)
    chaos = Chaos(stack, latest=load.latest_fault)
    plan = schedule(args.seconds)
    began = time.monotonic()
    window = asyncio.Event()
    window.set()
    callers = [asyncio.create_task(load.caller(seed)) for seed in range(args.callers)]
    stripe_task = asyncio.create_task(chaos.stripe(window))
    await chaos.run(plan, began)
    await asyncio.sleep(max(0.0, began + args.seconds - time.monotonic()))
    window.clear()
    load.running = False
    stack.relay.chaos = False
    await stripe_task
    log(f"fault window over; waiting for callers ({load.outcomes})")
    await asyncio.gather(*callers)
    last_fault = chaos.last_fault_at
    log("recovery: checking every workspace until clean")
    violations: list[Violation] = []
    lost: list[str] = []
    unverified = 0
    recovered_s: float | None = None
    passes = 0
    progress: list[dict[str, int]] = []
    deadline = time.monotonic() + args.recovery_seconds
    verify = checker(stack, tenure, catalog, engine)
    while time.monotonic() < deadline:
        passes += 1
        try:
            violations = await verify.verify_all(concurrency=8)
            lost, unverified = await lost_commands(stack, tenure, load.accepted)
        except Exception as error:  # a server still coming back: try again
            log(f"check pass {passes} failed: {type(error).__name__}: {error}")
            await asyncio.sleep(5)
            continue
        progress.append(
            {
                "after_last_fault_s": round(time.monotonic() - last_fault),
                "lost": len(lost),
                "unverified": unverified,
            }
            | dict(Counter(v.check for v in violations))
        )
        log(
            f"check pass {passes}: {len(violations)} violations, {len(lost)} commands lost, "
            f"relay pending {stack.relay.pending()}"
        )
        if not violations and not lost and not unverified:
            recovered_s = time.monotonic() - last_fault
            break
        await asyncio.sleep(10)
    lines = [v.line() for v in violations]
    duplicate_charges = sum(1 for v in violations if v.check == "charge" and "times at Stripe" in v.message)
    mail = Counter(m.message().get("Message-ID") for m in stack.smtp.messages())
    await stack.relay.stop()
    await engine.dispose()
    commands = {**load.outcomes, "lost": len(lost), "unverified": unverified}
    details = {
        "subscriptions": args.subscriptions,
        "fault_window_s": args.seconds,
        "callers": args.callers,
        "webhook_rate_per_s": args.webhook_rate,
        "setup_s": round(setup_s, 1),
        "check_passes": passes,
        "lost_samples": lost[:5],
        "http_statuses": dict(load.statuses),
        "http_errors_after_fault": dict(load.after_fault),
        "http_5xx_samples": load.samples,
        "check_progress": progress,
        "stripe_webhooks": dict(stack.relay.counts),
        "outbound_webhooks_received": sum(stack.relay.received.values()),
        "outbound_webhook_duplicates": stack.relay.duplicates_received(),
        "emails_received": sum(mail.values()),
        "email_duplicates": sum(n - 1 for n in mail.values()),
        "fault_timeline": chaos.timeline,
    }
    return result_line(chaos.faults, commands, duplicate_charges, lines, recovered_s, details)


def main() -> None:
    """Parse arguments, run, print the JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscriptions", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=180.0, help="the fault window")
    parser.add_argument("--callers", type=int, default=16, help="concurrent HTTP callers")
    # Long enough for a killed worker's e-mail relay attempt to time out (90 s heartbeat) and
    # for the burst's backlog to drain; the whole default run stays under 10 minutes.
    parser.add_argument("--recovery-seconds", type=float, default=330.0)
    parser.add_argument(
        "--webhook-rate", type=float, default=100.0, help="outbound webhook attempts per second per endpoint"
    )
    parser.add_argument("--small", action="store_true", help="50 subscriptions, a 2-minute fault window")
    args = parser.parse_args()
    if args.small:
        args.subscriptions, args.seconds, args.callers = 50, 120.0, 8
    build = functools.partial(ChaosStack, webhook_rate=args.webhook_rate)
    run_on_stack("tenure-chaos-", build, lambda stack: bench(args, stack))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

"""Webhook deliveries end to end: the API over real HTTP, the dispatcher on a real Temporal
dev server (wall-clock time: retries and poll timers really wait), PostgreSQL, and a real
receiver that verifies every signature with `standardwebhooks`, fails on purpose, goes away
and comes back. Events are appended straight to the log (`db.event_log.append`).

The delivery settings are shortened (poll 0.2 s, backoff 0.1 s doubling to 0.4 s, horizon
4 s) so retries and the horizon fit in seconds; the schedule's shape is the production one.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from temporalio.client import WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.email_relay import EmailRelayActivities
from activities.smtp import SmtpConfig
from activities.stripe_gateway import StripeGateway, stripe_client
from api.app import create_app
from billing import Reactivate
from billing.catalog import load_catalog
from client import TenureClient
from config.settings import Settings
from contracts.events import EventOut, NewEvent
from db import event_log
from db.engine import session_factory
from db.tokens import issue
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import SmtpSink
from devstack.stripe_emulator.server import BackgroundServer
from services import build_services
from services.compose import delivery_policy
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _subscribed_then_cancelled
from tests.workflows.webhook_receiver import Receiver
from worker.composition import build_workers
from workflows.webhook_delivery import dispatcher_id

pytestmark = pytest.mark.timeout(120)

FAST = {
    "webhook_poll_interval_s": 0.2,
    "webhook_initial_backoff_s": 0.1,
    "webhook_max_backoff_s": 0.4,
    "webhook_retry_horizon_s": 4.0,
}
TEMPORAL = Path(sys.executable).parent / "temporal"


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Stack:
    env: WorkflowEnvironment
    queue: str
    api_url: str
    service_token: str
    staff_token: str
    settings: Settings


@pytest.fixture(scope="module")
async def stack(postgres: EmbeddedPostgres, migrated_engine: AsyncEngine) -> AsyncIterator[Stack]:
    """A dev server, a worker on a queue of this module, and the API on both."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL), data_converter=pydantic_data_converter, ui=False
    )
    queue = f"webhooks-{uuid.uuid4()}"
    gateway = StripeGateway(stripe_client("sk_test_unused", "http://127.0.0.1:9", timeout_s=1))
    [worker] = build_workers(env.client, migrated_engine, gateway, task_queue=queue, stripe_task_queue=None)
    settings = Settings(
        database_url=postgres.url,
        temporal_address=env.client.service_client.config.target_host,
        task_queue=queue,
        **FAST,  # type: ignore[arg-type]
    )
    async with session_factory(migrated_engine)() as session:
        service = await session.run_sync(lambda s: issue(s, "webhook tests", "service"))
        staff = await session.run_sync(lambda s: issue(s, "webhook staff", "staff"))
        await session.commit()
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with worker:
            yield Stack(env, queue, server.url, service.secret, staff.secret, settings)
    finally:
        await asyncio.to_thread(server.stop)
        await env.shutdown()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {stack.service_token}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    subject = Receiver()
    subject.start()
    yield subject
    subject.stop()


async def _append(engine: AsyncEngine, ws: str, count: int, start: int = 1) -> list[EventOut]:
    at = datetime.now(UTC)
    events = [
        NewEvent(
            workspace_id=ws,
            type="member.added",
            occurred_at=at,
            source_key=f"test:{ws}:{n}",
            payload={"user": f"u{n}"},
        )
        for n in range(start, start + count)
    ]
    async with session_factory(engine).begin() as session:
        return await event_log.append(session, events)


async def _until(what: str, done: Callable[[], Any], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _create(api: httpx.AsyncClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    answer = await api.post("/v1/webhook-endpoints", json={"url": receiver.url, **body})
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    receiver.secret = created["secret"]
    return created


def _acked_ids(receiver: Receiver) -> set[str]:
    return {r.event["id"] for r in receiver.acked()}


def _check_order(receiver: Receiver) -> None:
    """No request for event n+1 of a workspace before event n of it was acknowledged."""
    acked_at: dict[str, float] = {}
    for r in receiver.all():
        event = r.event
        if r.status == 200:
            acked_at.setdefault(event["id"], r.at)
    by_ws: dict[str, list[dict[str, Any]]] = {}
    for r in receiver.all():
        by_ws.setdefault(r.event["workspace_id"], []).append(r.event | {"_at": r.at})
    for requests in by_ws.values():
        first_ack = {e["sequence"]: acked_at.get(e["id"]) for e in requests}
        for e in requests:
            for seq, at in first_ack.items():
                if seq < e["sequence"]:
                    assert at is not None, f"sequence {e['sequence']} sent, {seq} never acked"
                    assert at <= e["_at"], f"sequence {e['sequence']} sent before {seq} acked"


async def test_every_event_arrives_in_order_through_failures_and_an_outage(
    stack: Stack, api: httpx.AsyncClient, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    created = await _create(api, receiver)
    assert created["id"].startswith("we_")
    assert created["secret"].startswith("whsec_")
    assert (created["status"], created["event_types"]) == ("active", [])
    shown = (await api.get(f"/v1/webhook-endpoints/{created['id']}")).json()
    assert "secret" not in shown
    assert shown["id"] == created["id"]
    listed = (await api.get("/v1/webhook-endpoints")).json()
    assert created["id"] in {e["id"] for e in listed}
    assert all("secret" not in e for e in listed)

    failing, healthy = f"ws-a-{uuid.uuid4().hex[:6]}", f"ws-b-{uuid.uuid4().hex[:6]}"
    receiver.fail_workspaces = {failing}
    events = await _append(migrated_engine, failing, 3) + await _append(migrated_engine, healthy, 3)
    # The healthy workspace is not held back by the failing one.
    await _until("the healthy workspace", lambda: {e.id for e in events[3:]} <= _acked_ids(receiver))
    assert not {e.id for e in events[:3]} & _acked_ids(receiver)

    def tried() -> list[dict[str, Any]]:
        return [r.event for r in receiver.all() if r.event["workspace_id"] == failing]

    await _until("retries of the failing head", lambda: len(tried()) >= 3)
    assert {e["sequence"] for e in tried()} == {1}  # only the head, retried

    # It heals; then the receiver goes away while more events come, and comes back.
    receiver.fail_workspaces = set()
    await _until("the failing workspace", lambda: {e.id for e in events} <= _acked_ids(receiver))
    receiver.stop()
    events += await _append(migrated_engine, healthy, 2, start=4)
    await asyncio.sleep(0.8)
    receiver.start()
    await _until("everything", lambda: {e.id for e in events} <= _acked_ids(receiver))

    assert all(r.verified for r in receiver.all())
    _check_order(receiver)
    for r in receiver.all():  # webhook-id is the event id on every attempt
        assert r.headers["webhook-id"] == r.event["id"]
    assert receiver.acked()[0].event == events[3].model_dump(mode="json")

    log = await _deliveries(api, created["id"])
    assert [d["id"] for d in log] == sorted((d["id"] for d in log), reverse=True)  # newest first
    assert any(d["status_code"] == 500 and d["next_retry_at"] for d in log)
    assert any(d["status_code"] is None and d["error"] for d in log)  # the outage: refused
    assert {d["event_id"] for d in log if d["ok"]} >= {e.id for e in events}
    head = sorted(d["attempt"] for d in log if d["event_id"] == events[0].id)
    assert head == list(range(1, len(head) + 1))
    assert len(head) >= 3

    # Replay one workspace's range: sent again, same ids, in order.
    before = len(receiver.acked())
    answer = await api.post(
        f"/v1/webhook-endpoints/{created['id']}/replay",
        json={"after": events[3].id, "until": events[6].id, "workspace_id": healthy},
    )
    assert answer.status_code == 202, answer.text
    await _until("the replay", lambda: len(receiver.acked()) >= before + 3)
    again = [r.event["id"] for r in receiver.acked()[before:]]
    assert again == [events[4].id, events[5].id, events[6].id]
    assert (await api.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 204
    assert (await api.get(f"/v1/webhook-endpoints/{created['id']}")).status_code == 404


async def _deliveries(api: httpx.AsyncClient, endpoint: str) -> list[dict[str, Any]]:
    """Every attempt, read page by page (3 a page) to check the cursor."""
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"before": before} if before else {})
        page = (await api.get(f"/v1/webhook-endpoints/{endpoint}/deliveries", params=params)).json()
        found += page["data"]
        before = page["next_before"]
        if before is None:
            return found


async def test_retries_run_out_then_the_endpoint_is_failing_until_a_replay(
    stack: Stack, api: httpx.AsyncClient, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    created = await _create(api, receiver, event_types=["member.added"])
    receiver.fail_all = True
    ws = f"ws-f-{uuid.uuid4().hex[:6]}"
    [event] = await _append(migrated_engine, ws, 1)
    url = f"/v1/webhook-endpoints/{created['id']}"

    async def status() -> str:
        return str((await api.get(url)).json()["status"])

    deadline = time.monotonic() + 30
    while await status() != "failing":
        assert time.monotonic() < deadline, "never marked failing"
        await asyncio.sleep(0.1)
    assert (await api.get(url)).json()["failing_since"] is not None
    attempts = len(receiver.all())
    # 4 s of 0.1, 0.2, 0.4, 0.4 ... s: about a dozen attempts, then nothing more.
    assert 5 <= attempts <= 16, attempts
    await _append(migrated_engine, ws, 1, start=2)
    await asyncio.sleep(1.0)
    assert len(receiver.all()) == attempts  # stopped: nothing is sent while failing
    last = (await api.get(f"{url}/deliveries", params={"limit": 1})).json()["data"][0]
    assert (last["ok"], last["next_retry_at"]) == (False, None)

    receiver.fail_all = False
    answer = await api.post(f"{url}/replay", json={"after": event.id})  # resume; re-send nothing older
    assert answer.status_code == 202, answer.text
    assert await status() == "active"
    await _until("the resumed deliveries", lambda: len(receiver.acked()) >= 2)
    assert [r.event["sequence"] for r in receiver.acked()] == [1, 2]
    assert (await api.delete(url)).status_code == 204


BAD_CREATE: list[tuple[dict[str, Any], str]] = [
    ({"url": "ftp://example.com/hook"}, "body.url"),
    ({"url": "https://user:pw@example.com/hook"}, "body.url"),
    ({"url": "example.com/hook"}, "body.url"),
    ({"url": "https://"}, "body.url"),
    ({"url": "http://example.com:99999/"}, "body.url"),
    ({}, "body.url"),
    ({"url": "https://example.com/hook", "event_types": ["invoice.paid", "nope"]}, "body.event_types"),
    ({"url": "https://example.com/hook", "secret": "whsec_mine"}, "body.secret"),
]


async def test_bad_input_is_refused_naming_the_field(
    stack: Stack, api: httpx.AsyncClient, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    before = (await api.get("/v1/webhook-endpoints")).json()
    for body, field in BAD_CREATE:
        answer = await api.post("/v1/webhook-endpoints", json=body)
        assert answer.status_code == 422, (body, answer.text)
        fields = [e["field"] for e in answer.json()["details"]["errors"]]
        assert any(f.startswith(field) for f in fields), (body, fields)
    assert (await api.get("/v1/webhook-endpoints")).json() == before

    created = await _create(api, receiver)
    url = f"/v1/webhook-endpoints/{created['id']}"
    unknown = "evt_" + "0" * 24
    for body, field in [
        ({"after": "evt_nothex"}, "body.after"),
        ({"until": unknown}, "body.until"),
        ({"after": unknown}, "body.after"),
        ({"workspace_id": ""}, "body.workspace_id"),
    ]:
        answer = await api.post(f"{url}/replay", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert [e["field"] for e in answer.json()["details"]["errors"]] == [field]
    for path in ("/v1/webhook-endpoints/nope", "/v1/webhook-endpoints/we_xyz/deliveries"):
        answer = await api.get(path)
        assert answer.status_code == 422, answer.text
        assert answer.json()["details"]["errors"][0]["field"] == "path.endpoint_id"
    assert (await api.get("/v1/webhook-endpoints/we_" + "0" * 24)).status_code == 404
    assert (await api.get(f"{url}/deliveries", params={"limit": 0})).status_code == 422
    staff = {"Authorization": f"Bearer {stack.staff_token}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=staff) as as_staff:
        refused = await as_staff.post("/v1/webhook-endpoints", json={"url": receiver.url})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert (await as_staff.get(url)).status_code == 403
    assert len((await api.get("/v1/webhook-endpoints")).json()) == len(before) + 1
    assert (await api.delete(url)).status_code == 204


async def test_a_forged_or_stale_signature_fails_verification(
    stack: Stack, api: httpx.AsyncClient, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    created = await _create(api, receiver)
    [event] = await _append(migrated_engine, f"ws-s-{uuid.uuid4().hex[:6]}", 1)
    await _until("the delivery", lambda: event.id in _acked_ids(receiver))
    assert (await api.delete(f"/v1/webhook-endpoints/{created['id']}")).status_code == 204
    [real] = [r for r in receiver.acked() if r.event["id"] == event.id][:1]
    secret = created["secret"]
    assert Webhook(secret).verify(real.body, real.headers)["id"] == event.id  # the docs' check

    other = Webhook("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=")
    forged = real.headers | {"webhook-signature": other.sign(event.id, datetime.now(UTC), real.body)}
    tampered = real.body.replace(b'"u1"', b'"u2"')
    old = datetime.now(UTC) - timedelta(minutes=10)
    stale = real.headers | {
        "webhook-timestamp": str(int(old.timestamp())),
        "webhook-signature": Webhook(secret).sign(event.id, old, real.body),
    }
    for body, headers in ((real.body, forged), (tampered, real.headers), (real.body, stale)):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, headers)


@pytest.mark.timeout(180)
async def test_a_worker_killed_mid_delivery_still_delivers_everything(
    stack: Stack, receiver: Receiver, migrated_engine: AsyncEngine, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    """The worker process dies right after an attempt was sent and logged, before Temporal
    hears of it: the next worker's retry of that activity finds the attempt it logged and
    does not send it again (`activity_key`), then delivers the rest."""
    queue = f"webhooks-crash-{uuid.uuid4()}"
    client = TenureClient(stack.env.client, queue)

    async def clients() -> TenureClient:
        return client

    services = build_services(
        migrated_engine, clients, None, load_catalog("seats"), webhook_policy=delivery_policy(stack.settings)
    )
    marker = tmp_path / "crashed"
    with _worker(stack, postgres, queue, "--marker", str(marker)) as first:
        created = await services.webhooks.create(receiver.url)
        receiver.secret = created.secret
        ws = f"ws-k-{uuid.uuid4().hex[:6]}"
        events = await _append(migrated_engine, ws, 3)
        assert await asyncio.to_thread(first.wait, 60) == 137
    assert marker.exists()
    assert [r.event["id"] for r in receiver.acked()] == [events[0].id]
    with _worker(stack, postgres, queue):
        await _until("everything after the crash", lambda: {e.id for e in events} <= _acked_ids(receiver), 60)
    ids = [r.headers["webhook-id"] for r in receiver.acked()]
    assert ids == [events[0].id, events[1].id, events[2].id]  # the logged one not again
    _check_order(receiver)
    await services.webhooks.delete(created.endpoint.id)


class _worker:
    """A worker process on ``queue``, killed when the block ends."""

    def __init__(self, stack: Stack, postgres: EmbeddedPostgres, queue: str, *extra: str) -> None:
        target = stack.env.client.service_client.config.target_host
        self._argv = [
            sys.executable,
            "-m",
            "tests.workflows.webhook_worker",
            "--address",
            target,
            "--database-url",
            postgres.url,
            "--task-queue",
            queue,
            *extra,
        ]

    def __enter__(self) -> subprocess.Popen[str]:
        self._proc = subprocess.Popen(self._argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self._proc.stdout is not None
        assert "worker ready" in self._proc.stdout.readline()
        return self._proc

    def __exit__(self, *_: object) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()


async def _tenure(stack: Stack, postgres: EmbeddedPostgres, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "TENURE_DATABASE_URL": postgres.url,
        "TEMPORAL_ADDRESS": stack.settings.temporal_address,
        "TENURE_TASK_QUEUE": stack.queue,
        "TENURE_WEBHOOK_POLL_INTERVAL_S": "0.2",
        "COLUMNS": "200",
    }
    argv = [sys.executable, "-m", "cli.main", "webhooks", *args]
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=60)


async def test_the_cli_adds_lists_replays_and_removes(
    stack: Stack, postgres: EmbeddedPostgres, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    added = await _tenure(stack, postgres, "add", receiver.url, "--event", "member.added", "--json")
    assert added.returncode == 0, added.stderr
    endpoint = json.loads(added.stdout)
    assert endpoint["event_types"] == ["member.added"]
    receiver.secret = endpoint["secret"]
    [event] = await _append(migrated_engine, f"ws-c-{uuid.uuid4().hex[:6]}", 1)
    await _until("the delivery", lambda: event.id in _acked_ids(receiver))

    listed = await _tenure(stack, postgres, "list", "--json")
    [mine] = [e for e in json.loads(listed.stdout) if e["id"] == endpoint["id"]]
    assert "secret" not in mine
    assert mine["status"] == "active"
    replayed = await _tenure(
        stack, postgres, "replay", endpoint["id"], "--until", event.id, "--workspace", event.workspace_id
    )
    assert replayed.returncode == 0, replayed.stderr
    await _until("the replay", lambda: [r.event["id"] for r in receiver.acked()] == [event.id, event.id])

    bad = await _tenure(stack, postgres, "add", "ftp://example.com/x")
    assert (bad.returncode, "invalid_argument" in bad.stderr, "url" in bad.stderr) == (4, True, True)
    unknown = await _tenure(stack, postgres, "add", receiver.url, "--event", "nope")
    assert (unknown.returncode, "event_types" in unknown.stderr) == (4, True)
    removed = await _tenure(stack, postgres, "remove", endpoint["id"])
    assert removed.returncode == 0, removed.stderr
    again = await _tenure(stack, postgres, "remove", endpoint["id"])
    assert (again.returncode, "not_found" in again.stderr) == (4, True)
    listed = await _tenure(stack, postgres, "list", "--json")
    assert endpoint["id"] not in {e["id"] for e in json.loads(listed.stdout)}


async def test_continue_as_new_carries_the_lanes_and_the_cursor(
    stack: Stack, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    """A tiny history limit: the dispatcher continues as new many times while one workspace
    fails and others flow; nothing is lost or reordered across the runs."""
    client = TenureClient(stack.env.client, stack.queue)

    async def clients() -> TenureClient:
        return client

    policy = delivery_policy(stack.settings).model_copy(update={"history_limit": 50})
    services = build_services(migrated_engine, clients, None, load_catalog("seats"), webhook_policy=policy)
    created = await services.webhooks.create(receiver.url)
    receiver.secret = created.secret
    flaky = f"ws-n-{uuid.uuid4().hex[:6]}"
    receiver.fail_workspaces = {flaky}
    events: list[EventOut] = []
    for n in range(4):
        for ws in (flaky, f"ws-o-{n}-{uuid.uuid4().hex[:4]}"):
            events += await _append(migrated_engine, ws, 3, start=1)
        await asyncio.sleep(0.3)
    receiver.fail_workspaces = set()
    await _until("everything", lambda: {e.id for e in events} <= _acked_ids(receiver), 60)
    _check_order(receiver)
    wid = dispatcher_id(created.endpoint.id)
    # Visibility is eventually consistent: a run that has continued as new can be listed a
    # moment later than its successor's deliveries arrive (seen on a loaded machine).
    deadline = time.monotonic() + 30
    while True:
        runs = [r async for r in stack.env.client.list_workflows(f'WorkflowId = "{wid}"')]
        continued = sum(r.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for r in runs)
        if continued >= 2 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert continued >= 2, runs
    await services.webhooks.delete(created.endpoint.id)


async def test_attempts_are_rate_limited_per_endpoint(
    stack: Stack, receiver: Receiver, migrated_engine: AsyncEngine
) -> None:
    """At 2 attempts a second, six workspaces' events (parallel lanes) take over two seconds,
    and no three arrive within one second (minus the dispatch jitter)."""
    client = TenureClient(stack.env.client, stack.queue)

    async def clients() -> TenureClient:
        return client

    policy = delivery_policy(stack.settings).model_copy(update={"rate_per_second": 2.0})
    services = build_services(migrated_engine, clients, None, load_catalog("seats"), webhook_policy=policy)
    created = await services.webhooks.create(receiver.url)
    receiver.secret = created.secret
    events: list[EventOut] = []
    async with session_factory(migrated_engine).begin() as session:
        at = datetime.now(UTC)
        new = [
            NewEvent(
                workspace_id=f"ws-r{n}-{uuid.uuid4().hex[:4]}",
                type="member.added",
                occurred_at=at,
                source_key="r",
            )
            for n in range(6)
        ]
        events = await event_log.append(session, new)
    await _until("everything", lambda: {e.id for e in events} <= _acked_ids(receiver))
    arrivals = [r.at for r in receiver.all()]
    assert arrivals[-1] - arrivals[0] >= 2.0
    assert all(arrivals[i + 2] - arrivals[i] >= 0.8 for i in range(len(arrivals) - 2)), arrivals
    await services.webhooks.delete(created.endpoint.id)


# --- issue 15's acceptance: the product and its people are told, end to end ------------------


def _in_order(told: list[tuple[str, str]], expected: list[tuple[str, str]]) -> None:
    """``expected`` appears in ``told`` in this order (other events may come between)."""
    at = 0
    for item in expected:
        assert item in told[at:], f"{item} missing after position {at} in {told}"
        at = told.index(item, at) + 1


@pytest.mark.timeout(240)
async def test_a_revert_reaches_the_product_its_people_and_the_log(
    stack: Stack,
    api: httpx.AsyncClient,
    receiver: Receiver,
    driver: Driver,
    migrated_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    # The story runs on the time-skipping server; the endpoint's dispatcher on the dev server
    # reads the same PostgreSQL event log in wall-clock time, as a separate deployment would.
    created = await _create(api, receiver)
    ws = await _subscribed_then_cancelled(driver)
    await driver.advance_to(_t("2026-11-03T06:00:00"))  # the revert, at the period end
    with SmtpSink(tmp_path / "mail", free_port()) as sink:
        relay = EmailRelayActivities(
            session_factory(migrated_engine), SmtpConfig(port=sink.port, timeout_s=5)
        )
        await relay.drain(workspace_id=ws)
        [warning] = [m for m in sink.messages() if m.subject.startswith("Your data sources will be deleted")]
    assert warning.to == ["billing@acme.test"]
    assert warning.subject == "Your data sources will be deleted on 10 November 2026"
    assert parsedate_to_datetime(str(warning.message()["Date"])) == _t("2026-11-03T00:00:00")
    await driver.advance_to(_t("2026-11-10T06:00:00"))  # the 80 MB source's deletion, 7 days on
    await driver.advance_to(_t("2026-11-12T10:00:00"))
    await driver.update(Reactivate(request_id=request_id(), actor="alice"))
    await driver.pay_all()

    pulled: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"workspace_id": ws, "limit": 7} | ({"after": cursor} if cursor else {})
        page = (await api.get("/v1/events", params=params)).json()
        pulled += page["data"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [e["sequence"] for e in pulled] == list(range(1, len(pulled) + 1))

    def delivered() -> list[dict[str, Any]]:
        firsts: dict[str, dict[str, Any]] = {}
        for r in receiver.acked():
            if r.event["workspace_id"] == ws:
                firsts.setdefault(r.event["id"], r.event)
        return list(firsts.values())

    await _until(
        "every event of the story", lambda: {e["id"] for e in pulled} <= {e["id"] for e in delivered()}
    )
    assert delivered() == pulled  # the same events, in the same order, the same payloads
    assert all(r.verified for r in receiver.all())
    _check_order(receiver)
    told = [(e["type"], _subject(e)) for e in pulled if not e["type"].startswith("invoice.")]
    _in_order(
        told,
        [
            ("subscription.updated", "canceling"),
            ("subscription.updated", "free"),
            ("entitlements.updated", "free"),
            ("member.suspended", "bob"),
            ("member.suspended", "carol"),
            ("connection.deleted", "notion"),
            ("connection.deleted", "slack"),
            ("agent.deactivated", "support-bot"),
            ("data_source.deletion_scheduled", "handbook"),
            ("data_source.deleted", "handbook"),
            ("subscription.updated", "active"),
            ("entitlements.updated", "business"),
            ("member.restored", "bob"),
            ("member.restored", "carol"),
            ("agent.reactivated", "support-bot"),
        ],
    )
    [deleted] = [e for e in pulled if e["type"] == "data_source.deleted"]
    assert deleted["occurred_at"].startswith("2026-11-10T00:00:00")
    assert not [e for e in pulled if e["type"] == "data_source.deletion_canceled"]  # it was gone
    await api.delete(f"/v1/webhook-endpoints/{created['id']}")


def _subject(event: dict[str, Any]) -> str:
    p = event["payload"]
    if event["type"].startswith("subscription."):
        return str(p["status"])
    if event["type"] == "entitlements.updated":
        return str(p["plan"])
    return str(p.get("user_id") or p.get("id") or "")

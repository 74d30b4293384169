"""A burst of concurrent seat assignments to one workspace over HTTP, across the checkout's
continue-as-new: no 5xx, every assignment applied once or refused with its 4xx code."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from billing.state import seats_held
from cli.errors import friendly_errors
from client import TenureClient, TenureError
from config.settings import Settings
from db.engine import session_factory
from db.tokens import issue
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import BackgroundServer
from devstack.timeskip import register_search_attributes
from tests.workflows.driver import Driver
from tests.workflows.http import as_user
from workflows.messages import workflow_id

BURST = 120
SEAT_LIMIT = 100  # the business plan's max_seats in catalogs/seats.toml
DEADLINE_S = 60.0


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server, not the time-skipping one: its limits are the real server's (10 Updates
    in flight per workflow; in-flight Updates aborted by a continue-as-new), which the Java
    test server does not enforce (the burst passed there without retries)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"), data_converter=pydantic_data_converter, ui=False
    )
    try:
        await register_search_attributes(env)
        yield env
    finally:
        await env.shutdown()


@contextlib.asynccontextmanager
async def _api(
    postgres: EmbeddedPostgres, driver: Driver, deadline_s: float
) -> AsyncIterator[httpx.AsyncClient]:
    """The API over real HTTP on the dev server, retrying a command for ``deadline_s``."""
    settings = Settings(
        database_url=postgres.url,
        temporal_address=driver.env.client.service_client.config.target_host,
        task_queue=driver.task_queue,
        stripe_task_queue=driver.stripe_task_queue,
        command_retry_deadline_s=deadline_s,
    )
    async with session_factory(driver.engine)() as session:
        token = await session.run_sync(lambda s: issue(s, "burst tests", "service"))
        await session.commit()
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    headers = {"Authorization": f"Bearer {token.secret}"}
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as client:
            yield client
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
async def api(postgres: EmbeddedPostgres, driver: Driver) -> AsyncIterator[httpx.AsyncClient]:
    """The API retrying a command for up to a minute: the machine is shared, and the point
    is that nothing is lost or refused for load, not how fast (about 7 s under load 7)."""
    async with _api(postgres, driver, DEADLINE_S) as client:
        yield client


async def _workspace(api: httpx.AsyncClient, driver: Driver, users: list[str]) -> str:
    ws = f"burst-{uuid.uuid4().hex[:8]}"
    members = [{"user_id": "alice", "role": "admin", "role_granted_at": "2026-01-05T00:00:00Z"}] + [
        {"user_id": user, "role": "member", "role_granted_at": "2026-02-01T00:00:00Z"} for user in users
    ]
    setup = {"workspace_id": ws, "billing_contact_email": "billing@acme.test", "members": members}
    made = await api.post("/v1/workspaces", json=setup)
    assert made.status_code == 200, made.text
    driver.adopt(ws)
    await driver.payments.give_card(ws)
    return ws


async def _run_id(driver: Driver) -> str:
    # The current run of the workspace's workflow (the raw call: it decodes no search attributes).
    execution = WorkflowExecution(workflow_id=workflow_id(driver.workspace_id))
    request = DescribeWorkflowExecutionRequest(namespace=driver.env.client.namespace, execution=execution)
    answer = await driver.env.client.workflow_service.describe_workflow_execution(request)
    return answer.workflow_execution_info.execution.run_id


async def test_a_burst_across_the_checkout_is_applied_once_or_refused_with_a_code(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    users = [f"user-{n:03}" for n in range(BURST)]
    ws = await _workspace(api, driver, users)
    first_run = await _run_id(driver)

    async def assign(user: str) -> httpx.Response:
        seat = {"user": user, "type": "pro"}
        return await api.post(
            f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", f"seat-{user}")
        )

    answers = await asyncio.gather(*(assign(user) for user in users))

    by_status = collections.Counter(answer.status_code for answer in answers)
    assert all(answer.status_code < 500 for answer in answers), by_status
    refused = collections.Counter(a.json()["code"] for a in answers if a.status_code != 200)
    assert by_status[200] == SEAT_LIMIT, (by_status, refused)
    assert refused == {"seat_limit_reached": BURST - SEAT_LIMIT}, refused
    # The first assignment was the checkout: the run continued as new while the others waited.
    assert await _run_id(driver) != first_run
    state = await driver.state()
    applied = {user for answer, user in zip(answers, users, strict=True) if answer.status_code == 200}
    assert set(seats_held(state)) == applied
    # Each applied assignment is in the ledger exactly once (a retry did not assign it twice).
    ledger = collections.Counter(entry.user for entry in state.seat_ledger if entry.quantity == 1)
    assert ledger == dict.fromkeys(applied, 1)


@pytest.mark.parametrize(
    ("replicas", "in_flight", "burst"),
    [
        pytest.param(2, 5, BURST, id="two replicas within the server's limit"),
        # 30 > 10 in flight: refused for load and aborted at the checkout; the SDK retries
        # those itself first (RESOURCE_EXHAUSTED, UNAVAILABLE), `execute` once it gives up.
        # Small: past the limit the server is slow (see `TenureClient._gate`).
        pytest.param(3, 10, 20, id="over the server's limit"),
    ],
)
async def test_clients_on_several_connections_apply_each_assignment_once(
    api: httpx.AsyncClient,
    driver: Driver,
    replicas: int,
    in_flight: int,
    burst: int,
) -> None:
    users = [f"user-{n:03}" for n in range(burst)]
    ws = await _workspace(api, driver, users)
    target = driver.env.client.service_client.config.target_host
    clients = [
        TenureClient(
            await Client.connect(target, data_converter=pydantic_data_converter),
            retry_deadline_s=DEADLINE_S,
            in_flight=in_flight,
        )
        for _ in range(replicas)
    ]

    async def assign(n: int, user: str) -> str:
        try:
            await clients[n % replicas].assign_seat(
                ws, user=user, seat_type="pro", actor="alice", request_id=f"seat-{user}"
            )
        except TenureError as refused:
            return refused.code
        return "applied"

    outcomes = collections.Counter(await asyncio.gather(*(assign(n, u) for n, u in enumerate(users))))

    applied = min(burst, SEAT_LIMIT)
    assert outcomes == {"applied": applied} | (
        {"seat_limit_reached": burst - applied} if burst > applied else {}
    )
    state = await driver.state()
    ledger = collections.Counter(entry.user for entry in state.seat_ledger if entry.quantity == 1)
    assert len(ledger) == applied
    assert set(ledger.values()) == {1}  # no retry assigned a seat twice


async def test_what_the_deadline_cannot_place_is_429_with_retry_after(
    postgres: EmbeddedPostgres, driver: Driver
) -> None:
    async with _api(postgres, driver, deadline_s=0) as impatient:
        users = [f"user-{n:03}" for n in range(30)]
        ws = await _workspace(impatient, driver, users)
        seat = {"type": "pro"}
        answers = await asyncio.gather(
            *(
                impatient.post(
                    f"/v1/workspaces/{ws}/seats", json=seat | {"user": u}, headers=as_user("alice")
                )
                for u in users
            )
        )
    statuses = collections.Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 429, 503}, statuses
    assert statuses[429] > 0, statuses
    for answer in answers:
        if answer.status_code >= 429:
            assert answer.headers["Retry-After"] == "1"
            assert set(answer.json()) == {"code", "message", "details"}
            assert (
                answer.json()["code"]
                == {429: "too_many_requests", 503: "temporarily_unavailable"}[answer.status_code]
            )


async def test_temporal_unreachable_is_503_in_the_error_shape(
    postgres: EmbeddedPostgres, driver: Driver
) -> None:
    settings = Settings(
        database_url=postgres.url, temporal_address="127.0.0.1:9", command_retry_deadline_s=0.5
    )
    async with session_factory(driver.engine)() as session:
        token = await session.run_sync(lambda s: issue(s, "outage tests", "service"))
        await session.commit()
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        headers = {"Authorization": f"Bearer {token.secret}"} | as_user("alice")
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
            answer = await client.post("/v1/workspaces/acme/seats", json={"user": "bob", "type": "pro"})
    finally:
        await asyncio.to_thread(server.stop)
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "temporarily_unavailable"
    assert answer.headers["Retry-After"] == "1"


async def test_a_server_gone_after_connecting_ends_in_temporarily_unavailable() -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"), data_converter=pydantic_data_converter, ui=False
    )
    client = TenureClient(env.client, retry_deadline_s=1.0)
    await env.shutdown()
    with pytest.raises(TenureError) as refused:
        await client.assign_seat("acme", user="bob", seat_type="pro", actor="alice")
    assert refused.value.code == "temporarily_unavailable"
    assert refused.value.details == {"retry_after_s": 1}


async def _get_once(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET ``path`` from ``app`` served for this one request over real HTTP."""
    server = BackgroundServer(app)
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            return await client.get(path, headers={"Authorization": "Bearer t", **(headers or {})})
    finally:
        await asyncio.to_thread(server.stop)


async def test_an_unhandled_error_is_a_json_500_naming_the_request_id(
    postgres: EmbeddedPostgres, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=postgres.url))

    @app.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    answer = await _get_once(app, "/v1/boom", {"X-Request-ID": "req-boom-1"})
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["code"] == "internal_error"
    assert answer.json()["details"] == {"request_id": "req-boom-1"}
    assert any("req-boom-1" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_the_database_unreachable_is_503_in_the_error_shape() -> None:
    """PostgreSQL down (here: nobody listens on its port) answers 503, not an internal error."""
    gone = f"postgresql://postgres@127.0.0.1:{free_port()}/tenure"
    answer = await _get_once(create_app(Settings(database_url=gone)), "/v1/workspaces/ws-1/overview")
    assert (answer.status_code, answer.json()["code"]) == (503, "temporarily_unavailable"), answer.text
    assert answer.json()["message"] == "the database cannot be reached now"


@pytest.mark.parametrize(
    ("code", "exit_code"),
    [("too_many_requests", 3), ("temporarily_unavailable", 3), ("seat_limit_reached", 4)],
)
def test_tenure_prints_one_line_for_a_refusal(
    code: str, exit_code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited, friendly_errors():
        raise TenureError(code, "try again in a moment")
    assert exited.value.code == exit_code
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {code}: try again in a moment"]


async def test_an_update_to_an_ended_subscription_is_not_found_at_once(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    # The dev server says "workflow execution already completed" both of a run that closed
    # by continue-as-new (sent again) and of a subscription that ended (not found): the
    # client tells them apart by the latest run's status.
    ws = await _workspace(api, driver, ["bob"])
    assert driver.handle is not None
    await driver.handle.terminate("ended")
    # A deadline far longer than the test: a retried NOT_FOUND would hang it, not pass.
    client = TenureClient(
        driver.env.client, driver.task_queue, driver.stripe_task_queue, retry_deadline_s=3600
    )
    with pytest.raises(TenureError) as missing:
        await asyncio.wait_for(client.assign_seat(ws, user="bob", seat_type="pro", actor="alice"), 30)
    assert missing.value.code == "not_found"

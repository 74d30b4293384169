"""Traces and structured logs end to end: real HTTP to the API, the time-skipping Temporal
server, PostgreSQL and the Stripe emulator, with the SDK's in-memory span exporter.

A caller's trace (its ``traceparent``) runs through the API's server spans, the Update, the
workflow, the decision record and, once the draft invoice posts, the Stripe queue's
``collect_invoice``; the JSON log lines of the same run carry the workspace and trace ids.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from config.temporal import connect
from devstack.timeskip import time_skipping_server
from observability import logs, tracing
from tests.workflows.conftest import stripe_queue
from tests.workflows.driver import Driver
from tests.workflows.http import as_user
from tests.workflows.payments import Payments
from worker.composition import build_workers
from workflows.messages import workflow_id


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this module only, into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server (its time moves only for this module)."""
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="module")
async def task_queue(
    spans: InMemorySpanExporter,
    time_skipping: WorkflowEnvironment,
    migrated_engine: AsyncEngine,
    payments: Payments,
) -> AsyncIterator[str]:
    """Workers on a client connected as every process connects (`config.temporal.connect`):
    with tracing installed, its tracing interceptor reaches the workers too."""
    target = time_skipping.client.service_client.config.target_host
    client = await connect(Settings(temporal_address=target))
    queue = f"tenure-tracing-{uuid.uuid4()}"
    main, stripe_side = build_workers(
        client,
        migrated_engine,
        payments.gateway(),
        task_queue=queue,
        stripe_task_queue=stripe_queue(queue),
        interceptors=[logs.LogContextInterceptor()],
    )
    async with main, stripe_side:
        yield queue


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The process's logs as JSON lines at DEBUG into a buffer (pytest's handlers put back)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    logs.configure(Settings(log_format="json", log_level="DEBUG"), buffer)
    yield buffer
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain: list[ReadableSpan] = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def _one(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert found, f"no span {name!r} among {sorted({s.name for s in spans})}"
    return found[0]


async def test_one_trace_from_http_commands_to_the_stripe_call(
    api: httpx.AsyncClient,
    driver: Driver,
    spans: InMemorySpanExporter,
    json_lines: io.StringIO,
    time_skipping: WorkflowEnvironment,
) -> None:
    caller = tracing.provider()
    assert caller is not None
    ws = f"trace-{uuid.uuid4().hex[:8]}"
    setup = {
        "workspace_id": ws,
        "billing_contact_email": "billing@acme.test",
        "members": [{"user_id": "alice", "role": "admin", "role_granted_at": "2026-01-05T00:00:00Z"}],
    }
    # The product's backend traces its own "checkout" and calls Tenure twice inside it.
    with caller.get_tracer("test-caller").start_as_current_span("checkout") as checkout:
        headers: dict[str, str] = {}
        TraceContextTextMapPropagator().inject(headers)
        created = await api.post("/v1/workspaces", json=setup, headers=headers)
        assert created.status_code == 200, created.text
        driver.adopt(ws)
        await driver.payments.give_card(ws)
        seat = {"user": "alice", "type": "pro"}
        assigned = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=headers | as_user("alice"))
        assert assigned.status_code == 200, assigned.text
    request_id = assigned.headers["x-request-id"]
    await time_skipping.sleep(timedelta(hours=4))  # past the draft window: the invoice posts
    assert len(await driver.pay_all()) == 1

    trace_id = checkout.get_span_context().trace_id
    finished = list(spans.get_finished_spans())
    ours = [s for s in finished if s.context is not None and s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in ours if s.context is not None}
    server = [s for s in ours if s.kind == SpanKind.SERVER]
    assert {s.name for s in server} >= {"POST /v1/workspaces", "POST /v1/workspaces/{workspace_id}/seats"}
    seats_server = _one(server, "POST /v1/workspaces/{workspace_id}/seats")
    # Temporal's interceptor parents every workflow span under the workflow's start (the
    # first request); the Update's handler span *links* to the seat request's client span.
    update_call = _one(ours, "StartWorkflowUpdate:assign_seat")
    assert update_call.parent is not None
    assert update_call.parent.span_id == seats_server.context.span_id
    handler = _one(ours, "HandleUpdate:assign_seat")
    assert [link.context.span_id for link in handler.links] == [update_call.context.span_id]
    records = [s for s in ours if s.name == "RunActivity:record_decision"]
    assert len(records) >= 2  # the start's decision and the seat's (then the invoice's)
    for record in records:
        chain = [s.name for s in _ancestors(record, by_id)]
        assert chain[-3:] == ["StartWorkflow:Subscription", "POST /v1/workspaces", "checkout"], chain
    # The Stripe call: the run loop posts the invoice when the draft window ends, and the
    # posting activity starts the invoice workflow, whose Stripe queue activity charges.
    collect = _one(ours, "RunActivity:collect_invoice")
    names = [s.name for s in _ancestors(collect, by_id)]
    assert names == [
        "StartActivity:collect_invoice",
        "StartWorkflow:Invoice",
        "RunActivity:post_invoice_local",  # a local activity since patch post-invoice-local
        "StartActivity:post_invoice_local",
        "StartWorkflow:Subscription",
        "POST /v1/workspaces",
        "checkout",
    ], names
    assert {"RunWorkflow:Subscription", "RunWorkflow:Invoice"} <= {s.name for s in ours}
    # The API's engine is instrumented: its statements are spans of the requests.
    assert any(s.attributes and "db.statement" in s.attributes for s in ours)

    lines: list[dict[str, Any]] = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
    [request_line] = [line for line in lines if line.get("request_id") == request_id]
    assert request_line["logger"] == "tenure.api"
    assert request_line["workspace_id"] == ws
    assert request_line["status"] == 200
    assert request_line["trace_id"] == format_trace_id(trace_id)
    decisions = [line for line in lines if line.get("activity") == "record_decision"]
    assert decisions, "no log line of the decision record"
    assert {(d["workspace_id"], d["workflow_id"]) for d in decisions} == {(ws, workflow_id(ws))}
    assert all(d["run_id"] for d in decisions)

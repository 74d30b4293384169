"""The worker's metrics ports: the Temporal SDK's families (through the runtime given to the
Client, as `worker.main` does) and Tenure's registry, both parsed as Prometheus text after a
workflow and an activity ran on a real (time-skipping) Temporal server."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devstack.ports import free_port
from observability import metrics
from observability.metrics_http import serve_worker_metrics
from observability.metrics_worker import temporal_runtime

# Families the dashboard and alerts read from the SDK (tests/static/test_metrics_names.py).
SDK_FAMILIES = {
    "temporal_workflow_completed",
    "temporal_workflow_task_execution_latency",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_execution_latency",
    "temporal_activity_schedule_to_start_latency",
}


@activity.defn(name="metrics_probe_email")
async def probe_email(outcome: str) -> str:
    metrics.EMAILS.labels(outcome).inc()  # what the e-mail relay does per message
    return outcome


@workflow.defn(name="MetricsProbe", sandboxed=False)
class MetricsProbe:
    @workflow.run
    async def run(self) -> str:
        return await workflow.execute_activity(
            probe_email, "sent", start_to_close_timeout=timedelta(seconds=30)
        )


def _families(text: str) -> dict[str, float]:
    """Every sample as ``name{label=value,...}`` → value, and every family name → 1."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        found[family.name] = 1
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture
async def client(time_skipping: WorkflowEnvironment, ports: tuple[int, int]) -> Client:
    """A client on the shared test server whose runtime exports the SDK's metrics (as the worker's)."""
    runtime = temporal_runtime("127.0.0.1", ports[0])
    assert runtime is not None
    target = time_skipping.client.service_client.config.target_host
    return await Client.connect(target, data_converter=pydantic_data_converter, runtime=runtime)


async def _scrape(port: int) -> dict[str, float]:
    async with httpx.AsyncClient() as http:
        return _families((await http.get(f"http://127.0.0.1:{port}/metrics")).text)


def test_port_zero_turns_the_sdk_metrics_off() -> None:
    assert temporal_runtime("127.0.0.1", 0) is None
    assert serve_worker_metrics("127.0.0.1", 0) is None


def test_a_taken_port_leaves_the_worker_running_without_metrics(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert temporal_runtime("127.0.0.1", port) is None
        assert serve_worker_metrics("127.0.0.1", port) is None
    assert [r.message for r in caplog.records if "metrics off" in r.message] != []


async def test_the_worker_ports_serve_the_sdk_and_tenure_metrics(
    client: Client, ports: tuple[int, int]
) -> None:
    server = serve_worker_metrics("127.0.0.1", ports[1])
    try:
        before = await _scrape(ports[1])
        queue = f"metrics-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[MetricsProbe], activities=[probe_email]):
            assert await client.execute_workflow(MetricsProbe.run, id=queue, task_queue=queue) == "sent"
        sdk = await _scrape(ports[0])
        ours = await _scrape(ports[1])
    finally:
        if server is not None:
            server.shutdown()
    missing = SDK_FAMILIES - set(sdk)
    served = sorted(n for n in sdk if "{" not in n)
    assert not missing, f"SDK families missing: {sorted(missing)}; served: {served}"
    assert any(n.startswith("temporal_workflow_completed") and f"task_queue={queue}" in n for n in sdk)
    sent = "tenure_emails_total{outcome=sent}"
    assert ours[sent] == before.get(sent, 0) + 1
    assert "tenure_stripe_queue_backlog" in ours

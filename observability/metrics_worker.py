"""The worker side: the SDK's telemetry runtime and the Stripe queue's backlog gauge."""

from __future__ import annotations

import asyncio
import logging

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import RPCError

from observability.metrics import STRIPE_QUEUE_BACKLOG

log = logging.getLogger("tenure.metrics")


def temporal_runtime(host: str, port: int) -> Runtime | None:
    """A Temporal runtime exporting the SDK's metrics on ``host:port`` (0: None, the default runtime).

    Durations are exported in seconds, as Prometheus expects; the names keep the SDK's
    ``temporal_`` prefix (``temporal_workflow_task_execution_failed``...).
    """
    if port == 0:
        return None
    prometheus = PrometheusConfig(bind_address=f"{host}:{port}", durations_as_seconds=True)
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=prometheus))
    except ValueError as error:  # the port is taken: billing matters more than its metrics
        log.error("SDK metrics off, cannot serve them on %s:%d: %s", host, port, error)
        return None


async def stripe_backlog(client: Client, task_queue: str) -> int:
    """The Stripe activity queue's approximate backlog, from Temporal's task queue stats.

    One cheap RPC on the server's own counters: it sees tasks waiting in Temporal, where the
    rate limit holds them, which a database count of open invoices would not.
    """
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        report_stats=True,
    )
    answer = await client.workflow_service.describe_task_queue(request)
    return int(answer.stats.approximate_backlog_count)


async def poll_stripe_backlog(client: Client, task_queue: str, interval_s: float = 15.0) -> None:
    """Refresh `tenure_stripe_queue_backlog` every ``interval_s`` until cancelled."""
    while True:
        try:
            STRIPE_QUEUE_BACKLOG.set(await stripe_backlog(client, task_queue))
        except RPCError as error:  # a server without task queue stats: leave the gauge as it is
            log.debug("stripe backlog unavailable: %s", error.message)
        await asyncio.sleep(interval_s)

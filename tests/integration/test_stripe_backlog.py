"""`tenure_stripe_queue_backlog`'s source: Temporal's task queue stats on a dev server (the
time-skipping server has no task queue stats) see activities that no worker takes."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from observability import metrics
from observability.metrics_worker import poll_stripe_backlog, stripe_backlog


@workflow.defn(name="BacklogProbe", sandboxed=False)
class BacklogProbe:
    @workflow.run
    async def run(self, queue: str, n: int) -> None:
        # Activities scheduled on a queue nobody polls: they wait there, the backlog.
        calls = [
            workflow.execute_activity(
                "stripe_nobody_polls", i, task_queue=queue, start_to_close_timeout=timedelta(seconds=60)
            )
            for i in range(n)
        ]
        await asyncio.gather(*calls)


@pytest.fixture(scope="module")
async def dev_client() -> AsyncIterator[Client]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=shutil.which("temporal"), ui=False)
    yield env.client
    await env.shutdown()


async def test_the_backlog_counts_waiting_stripe_activities(dev_client: Client) -> None:
    queue = f"backlog-{uuid.uuid4().hex[:8]}"
    assert await stripe_backlog(dev_client, f"{queue}-stripe") == 0
    async with Worker(dev_client, task_queue=queue, workflows=[BacklogProbe]):
        handle = await dev_client.start_workflow(
            BacklogProbe.run, args=[f"{queue}-stripe", 3], id=queue, task_queue=queue
        )
        poller = asyncio.create_task(poll_stripe_backlog(dev_client, f"{queue}-stripe", interval_s=0.2))
        try:
            for _ in range(100):  # the stats are approximate and refreshed by the server
                if metrics.REGISTRY.get_sample_value("tenure_stripe_queue_backlog") == 3:
                    break
                await asyncio.sleep(0.2)
            assert await stripe_backlog(dev_client, f"{queue}-stripe") == 3
            assert metrics.REGISTRY.get_sample_value("tenure_stripe_queue_backlog") == 3
        finally:
            poller.cancel()
            await handle.terminate()

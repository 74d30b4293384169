"""A worker process for the graceful-shutdown test: `python -m tests.workflows.graceful_worker`.

It serves one slow activity through `worker.main.serve_until_signalled` (what `tenure
worker` runs) and records in ``--marks`` whether the activity started, finished or was
cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter

SLOW_S = 3.0


@workflow.defn(sandboxed=False)
class SlowWorkflow:
    """Runs the slow activity once (no retry: a cancelled attempt fails the workflow)."""

    @workflow.run
    async def run(self, marks: str) -> str:
        """The activity's result."""
        result: str = await workflow.execute_activity(
            "slow_step",
            marks,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        return result


@activity.defn(name="slow_step")
async def slow_step(marks: str) -> str:
    """Take `SLOW_S` seconds, noting each stage in the ``marks`` folder."""
    folder = Path(marks)
    (folder / "started").touch()
    try:
        await asyncio.sleep(SLOW_S)
    except asyncio.CancelledError:
        (folder / "cancelled").touch()
        raise
    (folder / "finished").touch()
    return "done"


async def main() -> None:
    """Serve until SIGTERM, as the worker process does."""
    from activities.stripe_gateway import StripeGateway, stripe_client
    from db.engine import async_engine
    from worker.composition import WorkerLimits, build_workers
    from worker.main import serve_until_signalled

    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--grace", type=float, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s")
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    engine = async_engine(args.database_url, pool_size=1)
    gateway = StripeGateway(stripe_client("sk_test_unused", "http://127.0.0.1:9", timeout_s=1))
    workers = build_workers(
        client,
        engine,
        gateway,
        task_queue=args.task_queue,
        stripe_task_queue=None,
        limits=WorkerLimits(graceful_shutdown_timeout_s=args.grace),
        workflows=[SlowWorkflow],
        main_activities=[slow_step],
    )
    print("polling", flush=True)
    await serve_until_signalled(workers, args.grace)
    await engine.dispose()


if __name__ == "__main__":
    from worker.main import exit_after_shutdown

    asyncio.run(main())
    exit_after_shutdown()  # as `tenure worker` ends

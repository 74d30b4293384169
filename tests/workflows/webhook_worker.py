"""A worker process for the webhook crash test: `python -m tests.workflows.webhook_worker`.

With ``--marker`` it kills itself (no cleanup, like a power cut) right after the first
`deliver_webhook` has sent its request and logged it, before Temporal hears of it, once.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.stripe_gateway import StripeGateway, stripe_client
from db.engine import async_engine
from tests.workflows.crash_worker import CrashInterceptor
from worker.composition import WorkerLimits, build_workers


async def main() -> None:
    """Run a main worker (no Stripe side) until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--marker", type=Path)
    args = parser.parse_args()
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    engine = async_engine(args.database_url, pool_size=4)
    interceptors = [CrashInterceptor("deliver_webhook", args.marker)] if args.marker else []
    # Never called: the webhook activities do not pay; the wiring wants a gateway.
    gateway = StripeGateway(stripe_client("sk_test_unused", "http://127.0.0.1:9", timeout_s=1))
    [worker] = build_workers(
        client,
        engine,
        gateway,
        task_queue=args.task_queue,
        stripe_task_queue=None,
        # No sticky cache: after the crash every workflow task replays on the new worker.
        limits=WorkerLimits(max_cached_workflows=0),
        interceptors=interceptors,
    )
    print("worker ready", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main())

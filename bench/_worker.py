"""The benchmark's worker process: Tenure's two workers plus the bare ceiling workflow.

Run by `bench.lifecycle` as a child so its memory can be measured alone::

    python -m bench._worker --address 127.0.0.1:7233 --database-url postgresql+psycopg://... \\
        --stripe-url http://127.0.0.1:12111 --task-queue bench --max-cached-workflows 2100

The main worker polls ``--task-queue``; the Stripe worker polls ``<task-queue>-stripe`` with
the product's server-side rate limit, as `worker.main` runs them.

Prints ``ready`` once polling; stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from dataclasses import replace

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.ceiling import BareEntityWorkflow, noop
from bench.payments import gateway, stripe_queue
from config.settings import Settings
from db.engine import async_engine
from worker.composition import WORKFLOWS, WorkerLimits, activities, build_workers


async def serve(address: str, database_url: str, stripe_url: str, task_queue: str, max_cached: int) -> None:
    """Run both workers until a stop signal (same runner, converter and limits as `worker.main`)."""
    settings = Settings()
    engine = async_engine(database_url, pool_size=settings.database_pool_size)
    payment_gateway = gateway(stripe_url)
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    tenure, payments = build_workers(
        client,
        engine,
        payment_gateway,
        task_queue=task_queue,
        stripe_task_queue=stripe_queue(task_queue),
        limits=replace(WorkerLimits.of(settings), max_cached_workflows=max_cached),
        workflows=[*WORKFLOWS, BareEntityWorkflow],
        main_activities=[*activities(engine, payment_gateway), noop],
    )
    async with tenure, payments:
        print("ready", flush=True)
        await stop.wait()
    await engine.dispose()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m bench._worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--stripe-url", required=True, help="base URL of the Stripe emulator")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-cached-workflows", type=int, default=Settings().max_cached_workflows)
    args = parser.parse_args()
    asyncio.run(
        serve(args.address, args.database_url, args.stripe_url, args.task_queue, args.max_cached_workflows)
    )


if __name__ == "__main__":
    main()

"""The benchmark's worker process: Tenure's worker plus the bare ceiling workflow.

Run by `bench.lifecycle` as a child so its memory can be measured alone::

    python -m bench._worker --address 127.0.0.1:7233 --database-url postgresql+psycopg://... \\
        --task-queue bench --max-cached-workflows 2100

Prints ``ready`` once polling; stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.ceiling import BareEntityWorkflow, noop
from config.settings import Settings
from db.engine import async_engine
from worker.composition import WORKFLOWS, activities, workflow_runner


async def serve(address: str, database_url: str, task_queue: str, max_cached: int) -> None:
    """Run the worker until a stop signal (same runner, converter and limits as `worker.main`)."""
    engine = async_engine(database_url, pool_size=Settings().database_pool_size)
    client = await Client.connect(address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[*WORKFLOWS, BareEntityWorkflow],
        activities=[*activities(engine), noop],
        workflow_runner=workflow_runner(),
        max_cached_workflows=max_cached,
        max_concurrent_activities=Settings().max_concurrent_activities,
    )
    async with worker:
        print("ready", flush=True)
        await stop.wait()
    await engine.dispose()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m bench._worker")
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--max-cached-workflows", type=int, default=Settings().max_cached_workflows)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.database_url, args.task_queue, args.max_cached_workflows))


if __name__ == "__main__":
    main()

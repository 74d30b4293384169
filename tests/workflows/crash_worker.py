"""A worker process for the crash test: `python -m tests.workflows.crash_worker`.

With ``--crash-after ACTIVITY`` the process kills itself (no cleanup, like a power cut)
right after that activity's work is committed and before its completion reaches Temporal,
once: a marker file remembers that the crash happened.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.stripe_gateway import StripeGateway, stripe_client
from db.engine import async_engine
from tests.workflows.payments import API_KEY
from worker.composition import WorkerLimits, build_workers


class _CrashAfter(ActivityInboundInterceptor):
    def __init__(self, nxt: ActivityInboundInterceptor, name: str, marker: Path) -> None:
        super().__init__(nxt)
        self._name = name
        self._marker = marker

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        if activity.info().activity_type == self._name and not self._marker.exists():
            self._marker.write_text(str(os.getpid()))
            os._exit(137)  # the committed work stays; the completion is lost
        return result


class CrashInterceptor(Interceptor):
    """Installs `_CrashAfter` on every activity."""

    def __init__(self, name: str, marker: Path) -> None:
        self._name = name
        self._marker = marker

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CrashAfter(next, self._name, self._marker)


async def main() -> None:
    """Run a worker until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--stripe-url", required=True, help="the Stripe emulator")
    parser.add_argument("--crash-after")
    parser.add_argument("--marker", type=Path)
    args = parser.parse_args()
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    engine = async_engine(args.database_url, pool_size=4)
    interceptors = [CrashInterceptor(args.crash_after, args.marker)] if args.crash_after else []
    gateway = StripeGateway(stripe_client(API_KEY, args.stripe_url, timeout_s=5))
    main_worker, stripe_worker = build_workers(
        client,
        engine,
        gateway,
        task_queue=args.task_queue,
        stripe_task_queue=f"{args.task_queue}-stripe",
        # No sticky cache: after the crash, the test server would keep routing workflow
        # tasks and queries to the dead worker's sticky queue; every task replays instead.
        limits=WorkerLimits(max_cached_workflows=0),
        interceptors=interceptors,
    )
    print("worker ready", flush=True)
    await asyncio.gather(main_worker.run(), stripe_worker.run())


if __name__ == "__main__":
    asyncio.run(main())

"""The worker process: composition root wiring settings, database and Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.payments import PaymentGateway
from config.settings import Settings
from config.temporal import connect
from db.engine import async_engine, required_url
from worker.composition import WORKFLOWS, activities, stripe_activities, stripe_gateway, workflow_runner
from worker.schedules import ROLLUP_SCHEDULE_ID, ensure_rollup_schedule

log = logging.getLogger("tenure.worker")


def build_workers(
    client: Client, settings: Settings, engine: AsyncEngine, gateway: PaymentGateway
) -> list[Worker]:
    """The main worker (every workflow, database activities) and the Stripe worker.

    Stripe activities have their own task queue so one server-side limit
    (`max_task_queue_activities_per_second`, shared by every worker process polling it)
    keeps a month-start burst of invoices under Stripe's rate limit.
    """
    main = Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(engine, gateway),
        workflow_runner=workflow_runner(),
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
    )
    payments = Worker(
        client,
        task_queue=settings.stripe_task_queue,
        activities=stripe_activities(engine, gateway),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_task_queue_activities_per_second=settings.stripe_activities_per_second,
    )
    return [main, payments]


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    """Create (or update) the daily usage roll-up Schedule; a refusal does not stop billing."""
    try:
        outcome = await ensure_rollup_schedule(client, settings.task_queue)
    except RPCError as error:
        log.error("schedule %r could not be set up: %s", ROLLUP_SCHEDULE_ID, error.message)
        return
    log.info("schedule %r %s (daily at 00:15 UTC)", ROLLUP_SCHEDULE_ID, outcome)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain and shut down gracefully."""
    engine = async_engine(required_url(settings.database_url), pool_size=settings.database_pool_size)
    gateway = stripe_gateway(settings)
    client = await connect(settings)
    main, payments = build_workers(client, settings, engine, gateway)
    await _ensure_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info(
        "worker polling task queues %r and %r on %s",
        settings.task_queue,
        settings.stripe_task_queue,
        settings.temporal_address,
    )
    async with main, payments:
        await stop.wait()
        log.info("stopping: finishing in-flight tasks")
    await engine.dispose()

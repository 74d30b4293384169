"""The worker process: composition root wiring settings, database and Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from config.settings import Settings
from config.temporal import connect
from db.engine import async_engine
from worker.composition import WORKFLOWS, activities, workflow_runner

log = logging.getLogger("tenure.worker")


def build_worker(client: Client, settings: Settings, engine: AsyncEngine) -> Worker:
    """Register every workflow and activity that exists, with settings-driven limits."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities(engine),
        workflow_runner=workflow_runner(),
        max_cached_workflows=settings.max_cached_workflows,
        max_concurrent_activities=settings.max_concurrent_activities,
    )


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain and shut down gracefully."""
    if settings.database_url is None:
        raise SystemExit("TENURE_DATABASE_URL is not set: point it at PostgreSQL (or use `tenure dev`)")
    engine = async_engine(settings.database_url, pool_size=settings.database_pool_size)
    client = await connect(settings)
    worker = build_worker(client, settings, engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
        log.info("stopping: finishing in-flight tasks")
    await engine.dispose()

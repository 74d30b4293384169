"""The worker process: composition root wiring settings, database and Temporal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.payments import PaymentGateway
from config.settings import Settings
from config.temporal import connect
from db.engine import async_engine, required_url
from observability import tracing
from observability.logs import LogContextInterceptor
from observability.metrics_http import serve_worker_metrics
from observability.metrics_worker import poll_stripe_backlog, temporal_runtime
from worker import composition
from worker.composition import WorkerLimits, stripe_gateway
from worker.schedules import EMAIL_RELAY_ID, ROLLUP_SCHEDULE_ID, ensure_email_relay, ensure_rollup_schedule

log = logging.getLogger("tenure.worker")


def build_workers(
    client: Client, settings: Settings, engine: AsyncEngine, gateway: PaymentGateway
) -> list[Worker]:
    """The main worker and the Stripe worker of a deployment (`composition.build_workers`)."""
    return composition.build_workers(
        client,
        engine,
        gateway,
        task_queue=settings.task_queue,
        stripe_task_queue=settings.stripe_task_queue,
        limits=WorkerLimits.of(settings),
        deployment=composition.deployment_config(settings),
        # The workspace in every activity's log lines; tracing rides on the client.
        interceptors=[LogContextInterceptor()],
    )


async def _ensure_schedules(client: Client, settings: Settings) -> None:
    """Create (or update) the daily usage roll-up Schedule; a refusal does not stop billing."""
    try:
        log.info(
            "e-mail relay %r running (run %s)",
            EMAIL_RELAY_ID,
            await ensure_email_relay(client, settings.task_queue),
        )
    except RPCError as error:
        log.error("the e-mail relay %r could not be started: %s", EMAIL_RELAY_ID, error.message)
    try:
        outcome = await ensure_rollup_schedule(client, settings.task_queue)
    except RPCError as error:
        log.error("schedule %r could not be set up: %s", ROLLUP_SCHEDULE_ID, error.message)
        return
    log.info("schedule %r %s (daily at 00:15 UTC)", ROLLUP_SCHEDULE_ID, outcome)


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then drain and shut down gracefully."""
    tracing.configure(settings)  # before the engine and the client: both are traced
    engine = async_engine(required_url(settings.database_url), pool_size=settings.database_pool_size)
    gateway = stripe_gateway(settings)
    # Metrics (docs/operations.md): the SDK's exporter lives in its runtime; Tenure's has its own port.
    runtime = temporal_runtime(settings.metrics_host, settings.worker_metrics_port)
    client = await connect(settings, runtime=runtime)
    serve_worker_metrics(settings.metrics_host, settings.worker_tenure_metrics_port)
    backlog = asyncio.create_task(poll_stripe_backlog(client, settings.stripe_task_queue))
    workers = build_workers(client, settings, engine, gateway)
    await _ensure_schedules(client, settings)
    log.info(
        "worker polling task queues %r and %r on %s",
        settings.task_queue,
        settings.stripe_task_queue,
        settings.temporal_address,
    )
    await serve_until_signalled(workers, settings.graceful_shutdown_timeout_s)
    backlog.cancel()
    await engine.dispose()


async def serve_until_signalled(workers: list[Worker], grace_s: float) -> None:
    """Run ``workers`` until SIGINT/SIGTERM, then stop polling and let the activities in
    flight finish for up to ``grace_s`` (each Worker's ``graceful_shutdown_timeout``, set by
    `build_workers` from the same setting) before the SDK cancels what is left.

    Workflow tasks need no grace: one that is cut short is retried by another worker.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as running:
        for worker in workers:
            await running.enter_async_context(worker)
        await stop.wait()
        log.info(
            "stopping: no new tasks; in-flight activities have up to %gs to finish, then are cancelled",
            grace_s,
        )
        started = loop.time()
    log.info("stopped after %.1fs", loop.time() - started)


def exit_after_shutdown(code: int = 0) -> NoReturn:
    """End the process once the workers have stopped, skipping interpreter finalization.

    The SDK's Rust bridge keeps threads that can call into Python while the interpreter
    finalizes: now and then the process then aborts ("Fatal Python error: PyGILState_Release",
    SIGABRT) after a clean shutdown (temporalio/sdk-python#300). Everything is done by here;
    logs and output are flushed first.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

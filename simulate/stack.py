"""The servers a simulation runs on: private ones started here, or ones the caller owns.

A private stack is Temporal's time-skipping test server (Tenure's search attributes
registered), an embedded PostgreSQL migrated to head in a temporary directory, and the
Stripe emulator in a background thread. Everything is stopped when the context exits,
whether the run succeeded, failed or was interrupted. PostgreSQL starts in a thread while
the test server starts, because both take seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from db.engine import async_engine
from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import EmulatorServer
from devstack.timeskip import time_skipping_server

Progress = Callable[[str], None]


def _quiet(name: str, line: str) -> None:
    """Server logs are noise here; a server that fails to start raises with its reason."""


def no_progress(message: str) -> None:
    """The default progress sink: say nothing."""


@dataclass(frozen=True)
class Stack:
    """Where a simulation runs.

    Attributes:
        env: a time-skipping test environment (its clock is shared by everything on it).
        engine: an engine on a migrated Tenure database.
        stripe_url: base address of a Stripe emulator.
        private: True when the stack is this simulation's alone (ids need no suffix).
    """

    env: WorkflowEnvironment
    engine: AsyncEngine
    stripe_url: str
    private: bool


def _start_postgres(directory: Path) -> EmbeddedPostgres:
    server = EmbeddedPostgres(directory, free_port(), _quiet)
    try:
        server.start()
        upgrade(server.url)
    except BaseException:
        server.stop()
        raise
    return server


@asynccontextmanager
async def private_stack(progress: Progress = no_progress) -> AsyncIterator[Stack]:
    """Start the three servers; stop all of them on exit, whatever happened."""
    async with AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tenure-simulate-")))
        progress("starting PostgreSQL, Temporal's time-skipping server and the Stripe emulator")
        postgres_task = asyncio.create_task(asyncio.to_thread(_start_postgres, tmp / "pg"))
        try:
            env = await stack.enter_async_context(time_skipping_server())
            emulator = stack.enter_context(EmulatorServer())
        finally:
            # Whatever else failed, PostgreSQL is either stopped here or handed to the exit stack.
            postgres = await postgres_task
            stack.callback(postgres.stop)
        engine = async_engine(postgres.url, pool_size=5)
        stack.push_async_callback(engine.dispose)
        yield Stack(env=env, engine=engine, stripe_url=emulator.url, private=True)

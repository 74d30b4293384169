"""The servers a simulation runs on: private ones started here, or ones the caller owns.

A private stack is Temporal's time-skipping test server (Tenure's search attributes
registered), an embedded PostgreSQL migrated to head in a temporary directory, and the
Stripe emulator in a background thread. Everything is stopped when the context exits,
whether the run succeeded, failed or was interrupted. PostgreSQL starts in a thread while
the test server starts, because both take seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from db.engine import async_engine
from devstack.stripe_emulator.server import EmulatorServer
from devstack.timeskip import time_skipping_server
from simulate.postgres import PostgresStart

Progress = Callable[[str], None]


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


@asynccontextmanager
async def private_stack(
    progress: Progress = no_progress, postgres_start: PostgresStart | None = None
) -> AsyncIterator[Stack]:
    """Start the three servers; stop all of them on exit, whatever happened.

    Args:
        postgres_start: a PostgreSQL already starting (`simulate.postgres`), which the stack
            then owns and stops; None: started here.
    """
    async with AsyncExitStack() as stack:
        progress("starting PostgreSQL, Temporal's time-skipping server and the Stripe emulator")
        starting = postgres_start or PostgresStart()
        # Whatever fails from here, PostgreSQL is stopped and its directory removed.
        stack.callback(starting.close)
        env = await stack.enter_async_context(time_skipping_server())
        emulator = stack.enter_context(EmulatorServer())
        postgres = await asyncio.wrap_future(starting.future)
        engine = async_engine(postgres.url, pool_size=5)
        stack.push_async_callback(engine.dispose)
        yield Stack(env=env, engine=engine, stripe_url=emulator.url, private=True)

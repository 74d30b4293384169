"""Scenarios run through `simulate` on the session's PostgreSQL, an emulator and a time-skipping
server of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from devstack.stripe_emulator.server import EmulatorServer
from devstack.timeskip import time_skipping_server
from simulate.runner import simulate
from simulate.scenario import load_scenario
from simulate.stack import Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"

Simulate = Callable[[str], Awaitable[dict[str, Any]]]


@pytest.fixture(scope="package")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """This package's own time-skipping server (overrides the session's).

    Scenarios move the clock by months; a workflow another package left on a shared
    server would wake up with no worker for its task queue and hold every skip back.
    """
    async with time_skipping_server() as env:
        yield env


@pytest.fixture(scope="package")
def scenario_emulator() -> Iterator[EmulatorServer]:
    """A Stripe emulator for the scenarios."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="package")
def stack(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, scenario_emulator: EmulatorServer
) -> Stack:
    """The servers every scenario of this package shares (each run uses a suffixed workspace id)."""
    return Stack(env=time_skipping, engine=migrated_engine, stripe_url=scenario_emulator.url, private=False)


@pytest.fixture
def run_example(stack: Stack) -> Simulate:
    """Run ``examples/scenarios/<name>.yaml`` and return its report (stable ids)."""

    async def run(name: str) -> dict[str, Any]:
        return await simulate(load_scenario(EXAMPLES / f"{name}.yaml"), stack, stable=True)

    return run

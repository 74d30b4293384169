"""A worker with every workflow and the real activities, on the time-skipping server."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.workflows.driver import Driver
from worker.composition import WORKFLOWS, activities, workflow_runner


@pytest.fixture(scope="module")
async def task_queue(time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine) -> AsyncIterator[str]:
    """A running worker's task queue (one worker per test module)."""
    queue = f"tenure-test-{uuid.uuid4()}"
    worker = Worker(
        time_skipping.client,
        task_queue=queue,
        workflows=list(WORKFLOWS),
        activities=activities(migrated_engine),
        workflow_runner=workflow_runner(),
    )
    async with worker:
        yield queue


@pytest.fixture
async def driver(
    time_skipping: WorkflowEnvironment, migrated_engine: AsyncEngine, task_queue: str
) -> AsyncIterator[Driver]:
    """A fresh driver for one workspace; its workflow is terminated afterwards.

    A subscription left running keeps firing timers after its module's worker is gone,
    and its unserved tasks would hold back time skipping for every later test.
    """
    subject = Driver(time_skipping, migrated_engine, task_queue)
    yield subject
    if subject.handle is not None:
        # Already finished (deleted) workflows answer "not found": nothing to do.
        with contextlib.suppress(RPCError):
            await subject.handle.terminate("test finished")

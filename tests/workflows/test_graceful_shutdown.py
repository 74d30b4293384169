"""SIGTERM lets a worker's in-flight activity finish (graceful_shutdown_timeout_s), and the
log says so; with no grace (the SDK's default, Tenure's before) the activity is cancelled."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from devstack.postgres import EmbeddedPostgres
from tests.workflows.graceful_worker import SlowWorkflow


@pytest.fixture(scope="module")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of this module (the worker runs in another process)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=shutil.which("temporal"), data_converter=pydantic_data_converter, ui=False
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def _wait_for(path: Path, process: subprocess.Popen[str], timeout_s: float = 30) -> None:
    for _ in range(int(timeout_s * 20)):
        if await asyncio.to_thread(path.exists):
            return
        if process.poll() is not None:
            raise AssertionError(f"the worker exited: {process.communicate()[0]}")
        await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError(f"{path.name} never appeared: {process.communicate()[0]}")


@pytest.mark.parametrize("grace_s", [10.0, 0.0], ids=["with grace", "without grace"])
async def test_sigterm_lets_the_activity_in_flight_finish(
    dev_server: WorkflowEnvironment, postgres: EmbeddedPostgres, tmp_path: Path, grace_s: float
) -> None:
    queue = f"graceful-{uuid.uuid4()}"
    address = dev_server.client.service_client.config.target_host
    command = [sys.executable, "-m", "tests.workflows.graceful_worker", "--address", address]
    command += ["--database-url", postgres.url, "--task-queue", queue, "--grace", str(grace_s)]
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, read in a thread)
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        handle = await dev_server.client.start_workflow(
            SlowWorkflow.run, str(tmp_path), id=f"graceful-{uuid.uuid4()}", task_queue=queue
        )
        await _wait_for(tmp_path / "started", process)
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.to_thread(process.communicate, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert (tmp_path / "finished").exists() is bool(grace_s), output
    assert (tmp_path / "cancelled").exists() is not bool(grace_s), output
    # The completion reached Temporal before the process exited (no worker is left to run
    # the workflow on: the activity's outcome is in the history).
    events = {e.WhichOneof("attributes") async for e in handle.fetch_history_events()}
    assert ("activity_task_completed_event_attributes" in events) is bool(grace_s), events
    assert f"in-flight activities have up to {grace_s:g}s to finish, then are cancelled" in output
    assert "stopped after" in output

"""The database activities behind a real Temporal worker, with the pydantic data converter.

The other workspace tests call the methods directly; this one proves the wiring: the
activity names register, plans and snapshots cross the converter intact, and an unknown
workspace fails the activity once, without retries.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.workspace import WorkspaceActivities
from billing.workspace import RevertPlan, WorkspaceSnapshot, apply_revert
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from devstack.postgres import EmbeddedPostgres
from services.workspaces import store_workspace
from tests.integration.workspace_support import new_workspace_id, revert_plan, setup_for

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3)


class Probed(BaseModel):
    """What the probe saw: the snapshot, the plan it applied, the snapshot after."""

    before: WorkspaceSnapshot
    plan: RevertPlan
    after: WorkspaceSnapshot


@workflow.defn(sandboxed=False)
class RevertProbe:
    """Load, plan (pure), apply, load again: the workflow's revert in miniature."""

    @workflow.run
    async def run(self, workspace_id: str) -> Probed:
        load = WorkspaceActivities.load_snapshot
        before = await workflow.execute_activity_method(
            load, workspace_id, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        plan = revert_plan(before, workflow.now())
        await workflow.execute_activity_method(
            WorkspaceActivities.apply_revert, plan, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        after = await workflow.execute_activity_method(
            load, workspace_id, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
        )
        return Probed(before=before, plan=plan, after=after)


@pytest.fixture(scope="module")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER)
    )
    yield environment
    await environment.shutdown()


async def _run(env: WorkflowEnvironment, engine: AsyncEngine, workspace_id: str) -> Probed:
    acts = WorkspaceActivities(session_factory(engine))
    queue = f"workspace-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        env.client,
        task_queue=queue,
        workflows=[RevertProbe],
        activities=[acts.load_snapshot, acts.apply_revert],
    )
    async with worker:
        return await env.client.execute_workflow(
            RevertProbe.run, workspace_id, id=f"probe-{workspace_id}", task_queue=queue
        )


async def test_a_revert_through_a_worker_matches_the_pure_revert(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    ws = new_workspace_id()
    await store_workspace(session_factory(engine), setup_for(ws))
    seen = await _run(env, engine, ws)
    assert seen.after == apply_revert(seen.before, seen.plan)
    assert [m.status for m in seen.after.members] == ["active", "suspended", "suspended", "suspended"]
    assert seen.after.slack_bot is False
    [scheduled] = [d for d in seen.after.data_sources if d.deletion_scheduled_at is not None]
    assert scheduled.id == "ds-big"


async def test_an_unknown_workspace_fails_once_without_retries(
    env: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await _run(env, engine, "ws-nobody")
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert isinstance(activity_error.cause, ApplicationError)
    assert activity_error.cause.type == "workspace_not_found"
    assert activity_error.retry_state == RetryState.NON_RETRYABLE_FAILURE

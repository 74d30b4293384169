"""Worker versioning on the dev server: a subscription started on build A keeps working
when build B becomes the deployment's current version (AUTO_UPGRADE moves it to B at its
next workflow task), and build A can then stop. docs/upgrading.md is this, by hand.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import RoutingConfigUpdateState
from temporalio.api.enums.v1 import VersioningBehavior as RawBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.stripe_gateway import StripeGateway, stripe_client
from billing import load_catalog
from billing.state import Member
from billing.workspace import Member as WorkspaceMember
from client import TenureClient
from config.settings import Settings
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from devstack.temporal import TemporalDevServer
from services.workspaces import store_workspace
from worker.composition import build_workers, deployment_config
from workflows.messages import workflow_id

ROOT = Path(__file__).resolve().parents[2]


def _worker(client: Client, engine: AsyncEngine, queue: str, deployment: str, build: str) -> Worker:
    settings = Settings(worker_versioning=True, worker_deployment_name=deployment, worker_build_id=build)
    unused = StripeGateway(stripe_client("sk_test_unused", "http://127.0.0.1:9"))
    [worker] = build_workers(
        client,
        engine,
        unused,
        task_queue=queue,
        stripe_task_queue=None,
        deployment=deployment_config(settings),
    )
    return worker


async def _promote(server: TemporalDevServer, deployment: str, build: str) -> None:
    """Make ``build`` current with docker-compose's `worker-promote` script and the CLI."""
    env = os.environ | {
        "TEMPORAL_ADDRESS": server.address,
        "NAMESPACE": "default",
        "DEPLOYMENT": deployment,
        "BUILD_ID": build,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    argv = ["sh", str(ROOT / "deploy/temporal/promote.sh")]
    done = await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"build {build} is the current version of {deployment}" in done.stdout


async def _make_current(client: Client, deployment: str, build: str) -> None:
    """`temporal worker deployment set-current-version`, retried until the version's poller
    has registered it with the server (a second or so after the worker starts), then until
    the new routing has reached the task queues (the server propagates it asynchronously)."""
    request = SetWorkerDeploymentCurrentVersionRequest(
        namespace=client.namespace, deployment_name=deployment, build_id=build
    )
    for attempt in range(100):
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            break
        except RPCError:
            if attempt == 99:
                raise
            await asyncio.sleep(0.2)
    await _routed(client, deployment)


async def _routed(client: Client, deployment: str) -> None:
    """Wait until the deployment's new routing has reached its task queues."""
    describe = DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
    completed = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
    for _ in range(100):
        info = (await client.workflow_service.describe_worker_deployment(describe)).worker_deployment_info
        if info.routing_config_update_state == completed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the routing of {deployment} did not propagate")


async def _build_of(tenure: TenureClient, ws: str) -> tuple[str, int]:
    info = (await tenure.temporal.get_workflow_handle(workflow_id(ws)).describe()).raw_description
    versioning = info.workflow_execution_info.versioning_info
    return versioning.deployment_version.build_id, versioning.behavior


async def test_a_subscription_started_on_build_a_moves_to_build_b(
    dev_client: Client, dev_server: TemporalDevServer, migrated_engine: AsyncEngine
) -> None:
    tag = uuid.uuid4().hex[:8]
    queue, deployment, ws = f"versioned-{tag}", f"tenure-{tag}", f"ver-{tag}"
    tenure = TenureClient(dev_client, queue, f"{queue}-stripe")
    await store_workspace(
        session_factory(migrated_engine),
        WorkspaceSetup(workspace_id=ws, members=[WorkspaceMember(user_id="alice", role="admin")]),
    )
    roster = {"alice": Member(role="admin", role_granted_at=datetime.now(UTC))}

    async with _worker(dev_client, migrated_engine, queue, deployment, "build-a"):
        await _make_current(dev_client, deployment, "build-a")
        await tenure.start_subscription(ws, load_catalog("seats"), roster)
        assert (await tenure.assign_seat(ws, user="alice", seat_type="pro", actor="alice")).status == "active"
        assert await _build_of(tenure, ws) == ("build-a", RawBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE)

        async with _worker(dev_client, migrated_engine, queue, deployment, "build-b"):
            await _promote(dev_server, deployment, "build-b")
            await _routed(dev_client, deployment)
            # Build A still polls: the server, not the absence of A, sends the run to B.
            result = await tenure.select_plan(ws, "business", actor="alice")
            assert result.status == "active"
            assert await _build_of(tenure, ws) == ("build-b", RawBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE)
    # Build A is gone: B alone keeps serving the subscription, its state intact.
    async with _worker(dev_client, migrated_engine, queue, deployment, "build-b"):
        overview = await tenure.overview(ws)
        assert overview.plan == "business"


def test_versioning_is_off_by_default_and_the_build_id_defaults_to_the_package_version() -> None:
    assert deployment_config(Settings(worker_versioning=False)) is None
    assert Settings.model_fields["worker_versioning"].default is False
    config = deployment_config(Settings(worker_versioning=True, worker_build_id=None))
    assert config is not None
    assert config.version.build_id == version("tenure")
    assert config.version.deployment_name == "tenure"

"""What support staff see in the Temporal Web UI: the static summary and details a
subscription starts with, and the current-details Markdown it updates after each decision.

On the dev server: `describe()` returns the user metadata (summary, details) and the current
details through the same API the UI reads (`DescribeWorkflowExecution`).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle

from billing import load_catalog
from billing.state import Member
from billing.workspace import Member as WorkspaceMember
from client import TenureClient
from contracts.workspace import WorkspaceSetup
from db.engine import session_factory
from services.workspaces import store_workspace
from workflows.messages import workflow_id


@pytest.fixture(scope="module")
def tenure(dev_client: Client, dev_queue: str) -> TenureClient:
    return TenureClient(dev_client, dev_queue, f"{dev_queue}-stripe")


async def _current_details(handle: WorkflowHandle[object, object]) -> str:
    """The current details, read as the UI reads them (the SDK's built-in metadata query)."""
    metadata: WorkflowMetadata = await handle.query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    return metadata.current_details


async def test_a_started_subscription_shows_its_summary_details_and_live_state(
    tenure: TenureClient, migrated_engine: AsyncEngine
) -> None:
    ws = f"ui-{uuid.uuid4().hex[:8]}"
    await store_workspace(
        session_factory(migrated_engine),
        WorkspaceSetup(workspace_id=ws, members=[WorkspaceMember(user_id="alice", role="admin")]),
    )
    roster = {
        "bob": Member(role="member", role_granted_at=datetime.now(UTC)),
        "alice": Member(role="admin", role_granted_at=datetime.now(UTC)),
    }
    await tenure.start_subscription(ws, load_catalog("seats"), roster)
    assert (await tenure.assign_seat(ws, user="alice", seat_type="pro", actor="alice")).status == "active"

    handle = tenure.temporal.get_workflow_handle(workflow_id(ws))
    # The first paid seat starts a period, and a period starts a new run: the static
    # metadata belongs to the run the client started (SDK 1.35's continue_as_new cannot
    # carry it), the current details to every run.
    info = (await handle.describe()).raw_description.workflow_execution_info
    assert info.first_run_id != info.execution.run_id
    first = tenure.temporal.get_workflow_handle(workflow_id(ws), run_id=info.first_run_id)
    description = await first.describe()
    assert await description.static_summary() == f"{ws} — seats, started by alice"
    details = await description.static_details()
    assert details is not None
    assert f"- **workspace**: {ws}" in details
    assert "- **catalog**: seats" in details
    assert "- **started by**: alice" in details
    assert "- **started at**: " in details

    current = ""
    for _ in range(50):  # set by the Update's workflow task; polled in case of a cache eviction
        current = await _current_details(handle)
        if "paid seats**: 1 pro" in current:
            break
        await asyncio.sleep(0.1)
    lines = current.splitlines()
    assert lines[0].startswith(f"**{ws}** — active")
    assert "- **status**: active" in lines
    assert "- **paid seats**: 1 pro (monthly)" in lines
    assert any(line.startswith("- **period**: ") for line in lines)
    # The seat's charge waits in a draft invoice (an hour here), the first thing due.
    assert "- **open invoices**: none" in lines
    assert any(line.startswith("- **draft invoice**: finalized at ") for line in lines), current
    assert lines[-1].startswith("- **next deadline**: ")
    assert lines[-1].endswith("(invoice finalized)")

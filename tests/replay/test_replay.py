"""Every recorded history in `tests/histories/` must replay clean against today's workflow code.

A failure here means a subscription running in production would hit a nondeterminism
error (its workflow task fails until a fix is deployed). See docs/histories.md.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from worker.composition import WORKFLOWS, workflow_runner
from workflows.invoice import invoice_workflow_id
from workflows.messages import workflow_id

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
FILES = sorted(HISTORIES.glob("*.json")) + sorted((HISTORIES / "invoices").glob("*.json"))

HOW_TO_FIX = """\
{name} no longer replays against the current workflow code:
    {error}
Live subscriptions whose history looks like this one would fail their next workflow task.
- If the change was not meant to alter what a running subscription does, make the code issue
  the same commands (activities, timers, child workflows, search-attribute upserts, continue-as-new)
  in the same order as before.
- If it was meant to, guard the new behaviour with `if workflow.patched("<change-id>"):` (keep the old
  path for histories recorded without the patch), then re-record the histories:
      uv run python -m tests.replay.record
  and commit them alongside the change. Refreshing without a patch is only legitimate before any
  production subscription exists. See docs/histories.md."""


def load(path: Path) -> WorkflowHistory:
    """A history file, with the workflow id of its scenario.

    ``seats-worked-example-2.json`` is run 2 of ``subscription-seats-worked-example``;
    ``invoices/seats-worked-example-00001.json`` is ``invoice-seats-worked-example-00001``.
    """
    if path.parent.name == "invoices":
        return WorkflowHistory.from_json(invoice_workflow_id(path.stem), path.read_text())
    return WorkflowHistory.from_json(workflow_id(path.stem.rsplit("-", 1)[0]), path.read_text())


@pytest.fixture(scope="module")
def replayer() -> Replayer:
    """One replayer with exactly the worker's workflows, sandbox and data converter."""
    return Replayer(
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        data_converter=pydantic_data_converter,
    )


def test_histories_are_recorded() -> None:
    assert FILES, f"no recorded histories in {HISTORIES}: run `uv run python -m tests.replay.record`"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_history_replays_clean(replayer: Replayer, path: Path) -> None:
    history = load(path)
    try:
        await replayer.replay_workflow(history, raise_on_replay_failure=True)
    except Exception as error:  # any failure gets the same instructions
        pytest.fail(HOW_TO_FIX.format(name=path.name, error=f"{type(error).__name__}: {error}"))


async def test_an_invoice_recorded_before_posting_persisted_it_replays_its_persist(
    replayer: Replayer,
) -> None:
    """Invoice workflows started before `post_invoice` recorded the invoice (patch
    ``persisted-by-posting``) have no ``persisted`` in their job and ran `persist_invoice`
    first: they must still replay (live ones are mid-dunning for weeks)."""
    path = HISTORIES / "invoices" / "seats-worked-example-00001.json"
    history = load(path)
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled[0] == "persist_invoice"
    assert '"persisted"' not in path.read_text()
    await replayer.replay_workflow(history, raise_on_replay_failure=True)


async def test_a_subscription_recorded_before_posting_was_local_replays_its_activity(
    replayer: Replayer,
) -> None:
    """Runs recorded before patch ``post-invoice-local`` posted through the `post_invoice`
    activity (a second workflow task per renewal): they must replay the same way."""
    history = load(HISTORIES / "seats-worked-example-2.json")
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert "post_invoice" in scheduled
    await replayer.replay_workflow(history, raise_on_replay_failure=True)

"""Tenure's Temporal Schedules: the daily usage roll-up (SPEC §4).

Every worker makes sure the Schedule exists when it starts (`ensure_rollup_schedule`), so a
deployment that runs workers rolls usage up without another step; `tenure usage rollup`
triggers the same Schedule on demand (`trigger_rollup`), so manual runs appear in its recent
actions next to the daily ones.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from contracts.email import RelayRequest
from workflows.email_relay import EmailRelayWorkflow
from workflows.rollup import RollupRequest, UsageRollupWorkflow

ROLLUP_SCHEDULE_ID = "tenure-usage-rollup"
# 00:15 UTC: the day that just ended is complete but for late events, which the next
# day's run (or an on-demand one) picks up.
ROLLUP_HOUR, ROLLUP_MINUTE = 0, 15
# A run does one SQL statement; an hour is far beyond any roll-up of a healthy database.
ROLLUP_EXECUTION_TIMEOUT = timedelta(hours=1)

# A triggered action shows in the Schedule's description within a second or so.
TRIGGER_WAIT_S = 30.0
TRIGGER_RETRY_S = 8.0

Ensured = Literal["created", "updated", "unchanged"]


def rollup_schedule(task_queue: str) -> Schedule:
    """The daily roll-up: `UsageRollupWorkflow` on ``task_queue`` at 00:15 UTC.

    A run missed while Temporal was down is still started within a day (catch-up window);
    one due while the previous one still runs is skipped (the next one covers its days).
    """
    return Schedule(
        action=ScheduleActionStartWorkflow(
            UsageRollupWorkflow.run,
            RollupRequest(),
            id=ROLLUP_SCHEDULE_ID,
            task_queue=task_queue,
            execution_timeout=ROLLUP_EXECUTION_TIMEOUT,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    # Tuples, as a described Schedule gives them back (`_same` compares).
                    hour=(ScheduleRange(ROLLUP_HOUR),),
                    minute=(ScheduleRange(ROLLUP_MINUTE),),
                    comment="daily usage roll-up",
                )
            ],
            time_zone_name="UTC",
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=1)),
        state=ScheduleState(note="Tenure: aggregates usage per workspace per UTC day (docs/usage.md)"),
    )


def _same(current: Schedule, wanted: Schedule) -> bool:
    action = current.action
    return (
        isinstance(action, ScheduleActionStartWorkflow)
        and isinstance(wanted.action, ScheduleActionStartWorkflow)
        and action.workflow == wanted.action.workflow
        and action.task_queue == wanted.action.task_queue
        and action.execution_timeout == wanted.action.execution_timeout
        and current.spec.calendars == wanted.spec.calendars
        and current.spec.time_zone_name == wanted.spec.time_zone_name
    )


async def ensure_rollup_schedule(client: Client, task_queue: str) -> Ensured:
    """Create the roll-up Schedule, or bring an existing one to this version's definition.

    Idempotent, and safe when several workers start at once (creation is atomic; an update
    is retried by the SDK on a conflict). An update keeps the Schedule's state, so one an
    operator paused stays paused.
    """
    wanted = rollup_schedule(task_queue)
    try:
        await client.create_schedule(ROLLUP_SCHEDULE_ID, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    changed = False

    def update(given: ScheduleUpdateInput) -> ScheduleUpdate | None:
        nonlocal changed
        current = given.description.schedule
        changed = not _same(current, wanted)
        if not changed:
            return None
        return ScheduleUpdate(schedule=dataclasses.replace(wanted, state=current.state))

    await client.get_schedule_handle(ROLLUP_SCHEDULE_ID).update(update)
    return "updated" if changed else "unchanged"


def _started(description: ScheduleDescription) -> list[str]:
    """Workflow ids the Schedule started, oldest first (running ones included)."""
    info = description.info
    actions = [a.action for a in info.recent_actions] + list(info.running_actions)
    ids: list[str] = []
    for action in actions:
        if isinstance(action, ScheduleActionExecutionStartWorkflow) and action.workflow_id not in ids:
            ids.append(action.workflow_id)
    return ids


async def trigger_rollup(client: Client, task_queue: str) -> str:
    """Start a roll-up now through the Schedule (created if missing); its workflow id.

    Triggered runs may overlap a running one (the roll-ups serialise on a database lock,
    and the second finds little left to do), so the run starts at once.
    """
    await ensure_rollup_schedule(client, task_queue)
    handle = client.get_schedule_handle(ROLLUP_SCHEDULE_ID)
    before = set(_started(await handle.describe()))
    deadline = time.monotonic() + TRIGGER_WAIT_S
    while time.monotonic() < deadline:
        # The Temporal dev server was seen to drop an immediate trigger now and then (no
        # action recorded, none running, in about half the runs of the CLI test): ask
        # again after a while. A second run is harmless: roll-ups serialise on a lock.
        await handle.trigger(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        retry_at = min(deadline, time.monotonic() + TRIGGER_RETRY_S)
        while time.monotonic() < retry_at:
            new = [w for w in _started(await handle.describe()) if w not in before]
            if new:
                return new[0]
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the schedule {ROLLUP_SCHEDULE_ID!r} started no run within {TRIGGER_WAIT_S:.0f} s")


# --- the e-mail relay (issue 15) ---------------------------------------------------------
EMAIL_RELAY_ID = "tenure-email-relay"


async def ensure_email_relay(client: Client, task_queue: str, request: RelayRequest | None = None) -> str:
    """Start the e-mail relay unless it runs already; the run id of the one running.

    Idempotent and safe when several workers start at once: the id is fixed and a running
    relay is kept (`USE_EXISTING`); one that ended (terminated by hand, failed) is started again.
    """
    handle = await client.start_workflow(
        EmailRelayWorkflow.run,
        request or RelayRequest(),
        id=EMAIL_RELAY_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return handle.result_run_id or ""

"""Counting what a subscription costs: its workflow histories, Stripe requests, database writes.

Used by `bench.costs` and its test (tests/integration/test_costs.py), so the figures the
benchmark reports are the ones the test checks by hand.

- **Histories**: every run of a workflow id, followed back along the continue-as-new chain
  from its latest run (each run's first event names the run it continues). Events are
  counted by type; Temporal Cloud *actions* are estimated from them with Temporal's published
  definitions (https://docs.temporal.io/cloud/actions): a workflow start (client start or
  continue-as-new), an activity scheduled or retried, one action per workflow task that ran
  local activities (plus their retries), a timer started, a signal received, an Update
  accepted, a search-attribute upsert (not the versioning-only `TemporalChangeVersion`), a
  child workflow initiated (two). Queries and heartbeats are not in histories: not counted.
- **Stripe**: the emulator's ``/v1`` request counter and its request log (``GET
  /_emulator/stats``, ``GET /_emulator/requests``), by method and path with ids replaced.
- **Database**: `pg_stat_user_tables` tuple counters and `pg_total_relation_size` per table,
  the live rows' bytes (`pg_column_size`), and the WAL written (`pg_current_wal_lsn`). The
  counters of a backend reach the statistics only when it flushes them, at the latest when
  it exits, so a snapshot closes the engine's pool first and waits for the counters to stand.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryRequest
from temporalio.client import Client

from bench.invoice_drain import emulator_stats

E = EventType
# The marker a local activity's result is recorded as (Temporal's Core SDK, Python included).
LOCAL_ACTIVITY_MARKER = "core_local_activity"
VERSIONING_ATTRIBUTE = "TemporalChangeVersion"
# An id in a path: `cus_…`, `in_…`, `seti_…`, 14 characters or more after the prefix (Stripe's
# and the emulator's), so that `/v1/setup_intents` stays a resource.
_STRIPE_ID = re.compile(r"/[a-z]+_[A-Za-z0-9]{14,}")
# How long the statistics may take to show a closed backend's counters.
STATS_SETTLE_S = 10.0


@dataclass
class HistoryCounts:
    """Events of a set of workflow histories, by kind, and the actions they estimate."""

    workflows: int = 0  # workflow ids
    runs: int = 0  # runs, all continue-as-new chains together
    events: int = 0  # every event (a terminating event written by the bench excluded)
    history_bytes: int = 0  # serialized size of those events
    workflow_tasks: int = 0  # WorkflowTaskCompleted
    workflow_task_failures: int = 0  # WorkflowTaskFailed + WorkflowTaskTimedOut
    activities: int = 0  # ActivityTaskScheduled
    activity_retries: int = 0  # attempts after the first of a started activity
    local_activities: int = 0  # local-activity markers
    local_activity_tasks: int = 0  # workflow tasks that recorded at least one such marker
    local_activity_retries: int = 0  # WorkflowTaskCompleted metering: non-first LA attempts
    timers: int = 0  # TimerStarted
    signals: int = 0  # WorkflowExecutionSignaled
    signals_sent: int = 0  # SignalExternalWorkflowExecutionInitiated (billed on the receiver)
    updates: int = 0  # WorkflowExecutionUpdateAccepted
    search_attribute_upserts: int = 0  # billable ones (not versioning-only)
    child_workflows: int = 0  # StartChildWorkflowExecutionInitiated
    continue_as_new: int = 0  # WorkflowExecutionContinuedAsNew
    max_run_events: int = 0  # the longest run (a maximum, not a sum)
    max_run_bytes: int = 0  # the largest run's serialized size (a maximum)
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def actions(self) -> int:
        """Temporal Cloud actions these histories estimate (see the module docstring)."""
        return (
            self.runs  # WorkflowExecutionStarted: the client's start and each continue-as-new
            + self.activities
            + self.activity_retries
            + self.local_activity_tasks
            + self.local_activity_retries
            + self.timers
            + self.signals
            + self.updates
            + self.search_attribute_upserts
            + 2 * self.child_workflows
        )

    def add(self, other: HistoryCounts) -> None:
        """Add ``other``'s counts to these."""
        for name in self.__dataclass_fields__:
            if name == "by_type":
                self.by_type.update(other.by_type)
            elif name.startswith("max_"):
                setattr(self, name, max(getattr(self, name), getattr(other, name)))
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict[str, int]:
        """Every count, and the actions estimate."""
        counts = {n: getattr(self, n) for n in self.__dataclass_fields__ if n != "by_type"}
        return counts | {"actions": self.actions}


async def _run_events(client: Client, wf_id: str, run_id: str) -> list[HistoryEvent]:
    """Every event of one run (``run_id`` empty: the latest run)."""
    events: list[HistoryEvent] = []
    token = b""
    while True:
        request = GetWorkflowExecutionHistoryRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=wf_id, run_id=run_id),
            next_page_token=token,
        )
        page = await client.workflow_service.get_workflow_execution_history(request)
        events += page.history.events
        token = page.next_page_token
        if not token:
            return events


async def chain_histories(client: Client, wf_id: str) -> list[list[HistoryEvent]]:
    """The events of every run of ``wf_id``, first run first (continue-as-new followed back)."""
    runs = [await _run_events(client, wf_id, "")]
    while previous := runs[0][0].workflow_execution_started_event_attributes.continued_execution_run_id:
        runs.insert(0, await _run_events(client, wf_id, previous))
    return runs


def _billable_upsert(event: HistoryEvent) -> bool:
    fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
    return any(name != VERSIONING_ATTRIBUTE for name in fields)


def count_run(events: list[HistoryEvent]) -> HistoryCounts:
    """The counts of one run's events."""
    counts = HistoryCounts(runs=1)
    task = 0  # the workflow task whose commands the next events record
    tasks_with_local_activities: set[int] = set()
    for event in events:
        kind = event.event_type
        if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            continue  # the bench stops what still runs: not the subscription's cost
        counts.events += 1
        counts.history_bytes += event.ByteSize()
        counts.by_type[E.Name(kind).removeprefix("EVENT_TYPE_")] += 1
        if kind == E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            task += 1
            counts.workflow_tasks += 1
            metering = event.workflow_task_completed_event_attributes.metering_metadata
            counts.local_activity_retries += metering.nonfirst_local_activity_execution_attempts
        elif kind in (E.EVENT_TYPE_WORKFLOW_TASK_FAILED, E.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT):
            counts.workflow_task_failures += 1
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts.activities += 1
        elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            counts.activity_retries += max(event.activity_task_started_event_attributes.attempt - 1, 0)
        elif kind == E.EVENT_TYPE_MARKER_RECORDED:
            if event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER:
                counts.local_activities += 1
                tasks_with_local_activities.add(task)
        elif kind == E.EVENT_TYPE_TIMER_STARTED:
            counts.timers += 1
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            counts.signals += 1
        elif kind == E.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED:
            counts.signals_sent += 1
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts.updates += 1
        elif kind == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            counts.search_attribute_upserts += _billable_upsert(event)
        elif kind == E.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            counts.child_workflows += 1
        elif kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            counts.continue_as_new += 1
    counts.local_activity_tasks = len(tasks_with_local_activities)
    counts.max_run_events, counts.max_run_bytes = counts.events, counts.history_bytes
    return counts


async def count_workflows(client: Client, wf_ids: list[str]) -> HistoryCounts:
    """The counts of every run of every workflow id in ``wf_ids``."""
    total = HistoryCounts()
    for wf_id in wf_ids:
        total.workflows += 1
        for run in await chain_histories(client, wf_id):
            total.add(count_run(run))
    return total


# --- Stripe --------------------------------------------------------------------------------


def request_kind(method: str, path: str) -> str:
    """``POST /v1/invoices/{id}/pay`` for ``POST /v1/invoices/in_123/pay``."""
    return f"{method} {_STRIPE_ID.sub('/{id}', path)}"


async def stripe_requests_seen(stripe_url: str) -> int:
    """The emulator's ``/v1`` request counter."""
    return (await emulator_stats(stripe_url))["requests"]


async def stripe_requests_since(stripe_url: str, seen_before: int) -> Counter[str]:
    """The ``/v1`` requests after the counter read ``seen_before``, by `request_kind`.

    Raises:
        RuntimeError: more requests than the emulator's log keeps.
    """
    seen = await stripe_requests_seen(stripe_url)
    async with httpx.AsyncClient(base_url=stripe_url) as http:
        log = (await http.get("/_emulator/requests")).raise_for_status().json()["data"]
    new = seen - seen_before
    if new > len(log):
        raise RuntimeError(f"{new} Stripe requests, the emulator's log keeps {len(log)}")
    return Counter(request_kind(r["method"], r["path"]) for r in log[len(log) - new :])


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TableFigures:
    """One table's counters at one instant."""

    inserted: int
    updated: int
    deleted: int
    relation_bytes: int  # pg_total_relation_size: heap, indexes, TOAST (8 KiB pages)
    row_bytes: int  # sum of pg_column_size of the live rows


@dataclass(frozen=True)
class DatabaseSnapshot:
    """Every user table's counters and the WAL position."""

    tables: dict[str, TableFigures]
    wal_bytes: int

    def since(self, before: DatabaseSnapshot) -> dict[str, object]:
        """What was written between ``before`` and this snapshot: totals and per table."""
        per_table: dict[str, dict[str, int]] = {}
        for name, now in sorted(self.tables.items()):
            was = before.tables.get(name, TableFigures(0, 0, 0, 0, 0))
            delta = {
                "inserted": now.inserted - was.inserted,
                "updated": now.updated - was.updated,
                "deleted": now.deleted - was.deleted,
                "relation_bytes": now.relation_bytes - was.relation_bytes,
                "row_bytes": now.row_bytes - was.row_bytes,
            }
            if any(delta.values()):
                per_table[name] = delta
        total = {k: sum(t[k] for t in per_table.values()) for k in TableFigures.__dataclass_fields__}
        return {"wal_bytes": self.wal_bytes - before.wal_bytes, **total, "tables": per_table}


async def _read(engine: AsyncEngine) -> DatabaseSnapshot:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del, pg_total_relation_size(relid)"
                    " FROM pg_stat_user_tables WHERE schemaname = 'public'"
                )
            )
        ).all()
        tables = {}
        for name, ins, upd, dele, size in rows:
            quoted = '"' + str(name).replace('"', '""') + '"'
            row_bytes = (
                await conn.execute(text(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {quoted} t"))
            ).scalar_one()
            tables[str(name)] = TableFigures(int(ins), int(upd), int(dele), int(size), int(row_bytes))
        wal = (await conn.execute(text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))).scalar_one()
    return DatabaseSnapshot(tables=tables, wal_bytes=int(wal))


def _counters(snapshot: DatabaseSnapshot) -> dict[str, tuple[int, int, int]]:
    return {n: (t.inserted, t.updated, t.deleted) for n, t in snapshot.tables.items()}


async def database_snapshot(engine: AsyncEngine) -> DatabaseSnapshot:
    """The database's counters once every earlier write is in the statistics.

    Closes the engine's pooled connections (their backends flush their counters as they
    exit; the engine opens new ones when next used), then reads until two reads agree.
    """
    await engine.dispose()
    loop = asyncio.get_running_loop()
    give_up = loop.time() + STATS_SETTLE_S
    last = await _read(engine)
    while True:
        await asyncio.sleep(0.3)
        now = await _read(engine)
        if _counters(now) == _counters(last) or loop.time() > give_up:
            return now
        last = now

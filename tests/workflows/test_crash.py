"""Kill the worker process mid-revert or mid-collection: the end state is the same, once.

The worker runs in its own process and kills itself right after `apply_revert` (or the
first `collect_invoice`, whose charge Stripe has then made) has committed, before Temporal
hears of it. A new worker process takes over: the activity is retried (idempotent), the
workflow replays, and the database must equal that of an uninterrupted run of the same
story, with no duplicate row and exactly one charge per invoice in Stripe.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from billing import AssignSeat, Cancel
from devstack.postgres import EmbeddedPostgres
from devstack.timeskip import time_skipping_server
from tests.integration.workspace_support import dump
from tests.workflows.driver import Driver
from tests.workflows.payments import Payments
from tests.workflows.test_revert import _setup, _t

pytestmark = pytest.mark.timeout(240)

# Columns that differ between two runs by construction: insert clocks. Surrogate integer
# ids are dropped too, and instants compared to the minute (commands are sent at the
# scenario's minute plus a few milliseconds of real time).
VOLATILE = {"recorded_at", "received_at", "dedupe_key", "idempotency_key"}
# The workspace row is registered by the test at the wall clock, not by the workflow;
# invoices carry Stripe's ids and Stripe's (wall) clock.
VOLATILE_BY_TABLE = {
    "workspaces": {"created_at"},
    "billing_profiles": {"stripe_customer_id", "default_payment_method"},
    "invoices": {
        "stripe_customer_id",
        "stripe_invoice_id",
        "hosted_invoice_url",
        "invoice_pdf",
        "paid_at",
        "created_at",
        "updated_at",
    },
}
_SECONDS = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d):\d\d(?:\.\d+)?")


@contextmanager
def worker_process(
    env: WorkflowEnvironment, database_url: str, stripe_url: str, queue: str, *extra: str
) -> Iterator[subprocess.Popen[str]]:
    target = env.client.service_client.config.target_host
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.workflows.crash_worker",
            "--address",
            target,
            "--database-url",
            database_url,
            "--task-queue",
            queue,
            "--stripe-url",
            stripe_url,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert "worker ready" in proc.stdout.readline()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def _story(driver: Driver, ws: str) -> None:
    """Two seats, paid, cancelled on Oct 10: the revert falls on Nov 3."""
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    for user in ("alice", "bob"):
        await driver.update(
            AssignSeat(request_id=f"{ws}-{user}", actor="alice", user=user, seat_type="pro")
        )
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-10T00:00:00"))
    await driver.update(Cancel(request_id=f"{ws}-cancel", actor="bob", reason="too expensive"))


def _normalised(rows: dict[str, list[dict[str, Any]]], ws: str) -> dict[str, list[dict[str, Any]]]:
    def clean(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(second=0, microsecond=0).isoformat()
        if isinstance(value, str):
            return _SECONDS.sub(r"\1", value.replace(ws, "<ws>"))
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return {
        table: sorted(
            (
                {
                    k: clean(v)
                    for k, v in row.items()
                    if k not in VOLATILE | VOLATILE_BY_TABLE.get(table, set())
                    and not (k == "id" and isinstance(v, int))
                }
                for row in table_rows
            ),
            key=repr,
        )
        for table, table_rows in rows.items()
    }


async def _until_reverted(driver: Driver, deadline_s: float = 120) -> None:
    for _ in range(int(deadline_s * 4)):
        overview = await driver.overview()
        events = await driver.rows(
            "SELECT 1 FROM subscription_events "
            "WHERE workspace_id = :ws AND event = 'data_source_deletion_warned'"
        )
        if overview.status == "free" and events:
            return
        await asyncio.sleep(0.25)
    raise AssertionError("the revert did not complete")


@pytest.fixture
async def private_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own: once an activity times out during a skip, the
    test server keeps one lock too many and every later skip waits for an RPC timeout
    (temporalio/sdk-java#2246); other tests must not pay for that."""
    async with time_skipping_server() as env:
        yield env


async def _run(
    env: WorkflowEnvironment,
    engine: AsyncEngine,
    postgres: EmbeddedPostgres,
    payments: Payments,
    marker: Path | None,
) -> dict[str, list[dict[str, Any]]]:
    """The story; with a marker, the worker is killed once right after `apply_revert`.
    Returns the workspace's rows, normalised; checks one charge per invoice."""
    ws = f"crash-{uuid.uuid4().hex[:8]}"
    queue = f"crash-{uuid.uuid4()}"
    driver = Driver(env, engine, queue, payments=payments)
    extra = ("--crash-after", "apply_revert", "--marker", str(marker)) if marker else ()
    with worker_process(env, postgres.url, payments.url, queue, *extra) as first:
        await _story(driver, ws)
        advancing = asyncio.create_task(driver.advance_to(_t("2026-11-03T06:00:00")))
        if marker is not None:
            assert await asyncio.to_thread(first.wait, 120) == 137
            assert await asyncio.to_thread(marker.exists)
            with worker_process(env, postgres.url, payments.url, queue):
                await advancing
                await _until_reverted(driver)
                await driver.advance_to(_t("2026-11-10T06:00:00"))
        else:
            await advancing
            await _until_reverted(driver)
            await driver.advance_to(_t("2026-11-10T06:00:00"))
    # Two invoices (Sep 3, Oct 3), each charged exactly once.
    assert sorted(payments.charges(ws).values()) == [1, 1]
    rows = await dump(engine, ws)
    rows["invoices"] = await driver.rows("SELECT * FROM invoices WHERE workspace_id = :ws ORDER BY 1")
    return _normalised(rows, ws)


async def test_killing_the_worker_mid_revert_changes_nothing(
    private_server: WorkflowEnvironment,
    migrated_engine: AsyncEngine,
    postgres: EmbeddedPostgres,
    payments: Payments,
    tmp_path: Path,
) -> None:
    # The clean run first: the crash spoils the server's time skipping for what follows.
    clean = await _run(private_server, migrated_engine, postgres, payments, None)
    crashed = await _run(private_server, migrated_engine, postgres, payments, tmp_path / "crashed")
    assert crashed == clean
    assert [r["status"] for r in crashed["invoices"]] == ["paid", "paid"]
    events = [row["event"] for row in crashed["subscription_events"]]
    assert events.count("reverted_to_free") == 1
    assert events.count("member_suspended") >= 2
    assert events.count("data_source_deleted") == 1


async def test_killing_the_worker_mid_collection_charges_once(
    private_server: WorkflowEnvironment,
    migrated_engine: AsyncEngine,
    postgres: EmbeddedPostgres,
    payments: Payments,
    tmp_path: Path,
) -> None:
    """Stripe charged the card, the row says paid, the worker dies before Temporal hears
    of it: the retried `collect_invoice` (after its start-to-close timeout) finds the
    invoice paid and charges nothing; the subscription learns it was paid."""
    ws = f"crash-{uuid.uuid4().hex[:8]}"
    queue = f"crash-{uuid.uuid4()}"
    marker = tmp_path / "crashed"
    driver = Driver(private_server, migrated_engine, queue, payments=payments)
    extra = ("--crash-after", "collect_invoice", "--marker", str(marker))
    with worker_process(private_server, postgres.url, payments.url, queue, *extra) as first:
        await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
        seat = AssignSeat(request_id=f"{ws}-alice", actor="alice", user="alice", seat_type="pro")
        await driver.update(seat)
        advancing = asyncio.create_task(driver.advance_to(_t("2026-09-03T12:00:00")))
        assert await asyncio.to_thread(first.wait, 120) == 137
        assert await asyncio.to_thread(marker.exists)
        with worker_process(private_server, postgres.url, payments.url, queue):
            await advancing
            [number] = await driver.pay_all()
    assert payments.charges(ws) == {number: 1}
    [invoice] = payments.stripe_invoices(ws)
    assert invoice["status"] == "paid"
    [row] = await driver.rows("SELECT status, attempt_count FROM invoices WHERE workspace_id = :ws")
    assert (row["status"], row["attempt_count"]) == ("paid", 1)
    for handle in await driver.workflow_handles():
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")

"""Record the replay histories: ``uv run python -m tests.replay.record [scenario ...]``.

Starts its own embedded PostgreSQL (temporary directory) and Temporal's time-skipping test
server, runs the real worker (every workflow, every activity) and drives each scenario of
`tests.replay.scenarios`. Then it follows each subscription's continue-as-new chain from
its first run and writes every run's history to ``tests/histories/<scenario>-<run>.json``
(run numbered from 1, JSON indented for reviewable diffs). Refreshing is legitimate only
for an intended change guarded by ``workflow.patched`` (see docs/histories.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from db.engine import async_engine
from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import EmulatorServer
from devstack.timeskip import time_skipping_server
from tests.replay.scenarios import SCENARIOS
from tests.workflows.driver import Driver
from tests.workflows.payments import Payments
from worker.composition import build_workers
from workflows.messages import workflow_id

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
# One file per invoice workflow, named by the invoice number (`<scenario>-00001.json`).
INVOICE_HISTORIES = HISTORIES / "invoices"


def _quiet(name: str, line: str) -> None:
    """PostgreSQL's log is not interesting unless it fails to start (then it raises)."""


async def run_chain(client: Client, wf_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """Every run's history, from ``first_run_id`` along the continue-as-new chain.

    The time-skipping server has no visibility (no `list_workflows`), so the chain is
    followed through each run's closing ``WorkflowExecutionContinuedAsNew`` event.
    """
    histories: list[WorkflowHistory] = []
    run_id: str | None = first_run_id
    while run_id is not None:
        history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return histories


def history_file(scenario: str, run: int) -> Path:
    """``tests/histories/<scenario>-<run>.json``."""
    return HISTORIES / f"{scenario}-{run}.json"


def write_history(path: Path, history: WorkflowHistory) -> None:
    """The history as indented JSON (one key per line: diffs show what moved)."""
    path.write_text(json.dumps(json.loads(history.to_json()), indent=2) + "\n")


async def record(env: WorkflowEnvironment, driver_for: Driver, names: list[str]) -> list[Path]:
    """Run the named scenarios one after another; write and return their history files."""
    written: list[Path] = []
    for name in names:
        env, engine = driver_for.env, driver_for.engine
        driver = Driver(env, engine, driver_for.task_queue, payments=driver_for.payments)
        await SCENARIOS[name](driver, name)
        assert driver.handle is not None
        assert driver.handle.first_execution_run_id is not None
        wf_id = workflow_id(name)
        histories = await run_chain(env.client, wf_id, driver.handle.first_execution_run_id)
        for stale in HISTORIES.glob(f"{name}-*.json"):
            stale.unlink()
        for run, history in enumerate(histories, start=1):
            path = history_file(name, run)
            write_history(path, history)
            written.append(path)
        invoices = (await driver.workflow_handles())[1:]
        for stale in INVOICE_HISTORIES.glob(f"{name}-*.json"):
            stale.unlink()
        for invoice in invoices:
            path = INVOICE_HISTORIES / f"{invoice.id.removeprefix('invoice-')}.json"
            write_history(path, await invoice.fetch_history())
            written.append(path)
        # The server's clock is shared: stop this subscription and its invoices so the next
        # scenario's months do not keep running them (their histories are already written).
        # (`describe()` cannot decode this server's Datetime search attributes: just try.)
        for handle in [env.client.get_workflow_handle(wf_id), *invoices]:
            with contextlib.suppress(RPCError):  # already completed (e.g. deleted, paid)
                await handle.terminate(reason="replay recording done")
        print(f"{name}: {len(histories)} run(s), {sum(len(h.events) for h in histories)} events")
    return written


async def main(names: list[str]) -> None:
    """Start PostgreSQL and the time-skipping server, record, stop everything."""
    INVOICE_HISTORIES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tenure-record-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", free_port(), _quiet)
        postgres.start()
        try:
            upgrade(postgres.url)
            engine = async_engine(postgres.url, pool_size=5)
            try:
                async with time_skipping_server() as env:
                    with EmulatorServer() as emulator:
                        payments = Payments(emulator.url, engine)
                        gateway = payments.gateway()
                        queue = f"tenure-record-{uuid.uuid4()}"
                        main, stripe_side = build_workers(
                            env.client, engine, gateway, task_queue=queue, stripe_task_queue=f"{queue}-stripe"
                        )
                        async with main, stripe_side:
                            written = await record(env, Driver(env, engine, queue, payments=payments), names)
            finally:
                await engine.dispose()
        finally:
            postgres.stop()
    print(f"wrote {len(written)} history file(s) to {HISTORIES}")


def _args(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(prog="python -m tests.replay.record", description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[[], *SCENARIOS], help="default: all")
    chosen: list[str] = parser.parse_args(argv).scenarios
    return chosen or list(SCENARIOS)


if __name__ == "__main__":
    asyncio.run(main(_args()))

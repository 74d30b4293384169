"""`tenure usage rollup`: run the daily usage roll-up now (SPEC §4; docs/usage.md).

It triggers the `tenure-usage-rollup` Schedule (creating it if no worker has yet), so the
run is listed with the daily ones; a worker must be running to do the work. ``--wait``
follows the run to its end and prints what it recomputed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from cli.errors import FAILED, UNAVAILABLE, fail, friendly_errors, load_settings
from config.settings import Settings
from config.temporal import connect
from contracts.usage import RollupResult
from worker.schedules import ROLLUP_SCHEDULE_ID, trigger_rollup

usage_app = typer.Typer(help="Usage: the daily roll-up behind the overview's usage.", no_args_is_help=True)
console = Console()


async def _connect(settings: Settings) -> Client:
    try:
        return await connect(settings)
    except RuntimeError as error:  # the SDK's "Failed client connect: ..."
        fail(f"cannot reach Temporal ({error}); check TEMPORAL_ADDRESS", UNAVAILABLE)


async def _rollup(wait: bool, status: Console) -> tuple[str, RollupResult | None]:
    settings = load_settings()
    client = await _connect(settings)
    with status.status("starting the roll-up"):
        workflow_id = await trigger_rollup(client, settings.task_queue)
    if not wait:
        return workflow_id, None
    with status.status(f"rolling up usage ({workflow_id}; needs a running worker)"):
        handle = client.get_workflow_handle(workflow_id, result_type=RollupResult)
        result: RollupResult = await handle.result()
    return workflow_id, result


def _table(result: RollupResult) -> Table:
    table = Table(title="usage roll-up", show_header=False)
    days = "none (no new events)"
    if result.first_day is not None:
        days = f"{result.first_day.isoformat()} … {result.last_day.isoformat() if result.last_day else ''}"
    since = result.since.isoformat() if result.since else "the first event (full)"
    took = (result.finished_at - result.started_at).total_seconds()
    for name, value in (
        ("run", result.run_id),
        ("as of", result.started_at.isoformat()),
        ("events received since", since),
        ("days touched", days),
        ("workspace-days rewritten", str(result.days)),
        ("events summed", str(result.events)),
        ("took", f"{took:.2f} s"),
    ):
        table.add_row(name, value)
    return table


@usage_app.command("rollup")
def rollup(
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the run and print what it did.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Roll usage up now: trigger the daily roll-up's Schedule (tenure-usage-rollup)."""
    status = Console(stderr=True)
    with friendly_errors():
        try:
            workflow_id, result = asyncio.run(_rollup(wait, status))
        except RPCError as error:
            fail(f"Temporal refused: {error.message}", UNAVAILABLE)
        except WorkflowFailureError as error:
            fail(f"the roll-up failed: {error.cause}", FAILED)
    if as_json:
        body = result.model_dump(mode="json") if result else {"workflow_id": workflow_id}
        console.print_json(json.dumps(body))
    elif result is None:
        console.print(f"roll-up started: {workflow_id} (schedule {ROLLUP_SCHEDULE_ID}); --wait follows it")
    else:
        console.print(_table(result))

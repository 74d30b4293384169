"""`tenure simulate SCENARIO.yaml`: months of a subscription's life in seconds (SPEC §7).

stdout carries only the result (JSON, or tables with ``--format table``); progress and
errors go to stderr. Exit codes: 0 done (refused steps are part of the result), 1 the run
failed, 2 a malformed scenario (the message names its line), 3 a server did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from cli.errors import FAILED, UNAVAILABLE, USAGE, fail, friendly_errors

if TYPE_CHECKING:
    from simulate.postgres import PostgresStart
    from simulate.scenario import LoadedScenario

INTERRUPTED = 130  # the shell's convention for a command stopped by Ctrl-C (128 + SIGINT)


class Format(StrEnum):
    json = "json"
    table = "table"


@contextlib.contextmanager
def _stdout_kept_clean() -> Iterator[int]:
    """Point fd 1 at stderr while servers run; yield a descriptor of the real stdout.

    Temporal's core logs warnings straight to file descriptor 1, which must carry only
    the result.
    """
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    try:
        yield real
    finally:
        sys.stdout.flush()
        os.dup2(real, 1)
        os.close(real)


def _run(scenario: Path, stable_ids: bool) -> dict[str, Any]:
    from simulate.postgres import PostgresStart
    from simulate.scenario import ScenarioError, load_scenario

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as error:
        fail(str(error), USAGE)
    # PostgreSQL's initdb and start (child processes, ~1.5 s) overlap the imports of the
    # worker's modules below; the private stack then owns it, and stops it whatever happens.
    postgres_start = PostgresStart()
    try:
        return _run_loaded(loaded, scenario.name, stable_ids, postgres_start)
    finally:
        postgres_start.close()  # stopped by the stack already, unless it was never entered


def _run_loaded(
    loaded: LoadedScenario, name: str, stable_ids: bool, postgres_start: PostgresStart
) -> dict[str, Any]:
    from simulate.runner import simulate
    from simulate.watchdog import SimulationError, SimulationInterrupted, SimulationStalled

    status_console = Console(stderr=True)
    with _stdout_kept_clean(), status_console.status("simulating", spinner="dots") as status:

        def progress(message: str) -> None:
            status.update(f"simulating {name}: {message}")

        interrupted = threading.Event()

        async def run() -> dict[str, Any]:
            # Ctrl-C: ask the run to stop at its next poll (it then stops every server it
            # started); a second Ctrl-C is Python's KeyboardInterrupt, as usual.
            def stop(signum: int, frame: FrameType | None) -> None:
                interrupted.set()
                signal.signal(signal.SIGINT, signal.default_int_handler)

            signal.signal(signal.SIGINT, stop)
            return await simulate(
                loaded,
                stable=stable_ids,
                progress=progress,
                interrupted=interrupted,
                postgres_start=postgres_start,
            )

        try:
            return asyncio.run(run())
        except SimulationInterrupted as error:
            fail(f"{error}: every server the run started is stopped", INTERRUPTED)
        except SimulationStalled as error:  # the watchdog: the servers are stopped by now
            fail(str(error), UNAVAILABLE)
        except SimulationError as error:
            fail(str(error), FAILED)


def _money(amount: int) -> str:
    return f"{amount / 100:,.2f}"


def _details(event: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in event.items() if k not in {"at", "event"})


def render_tables(document: dict[str, Any], console: Console) -> None:
    """The timeline, the invoices with their lines, refused steps and the final state."""
    timeline = Table(title=f"Timeline of {document['workspace']} ({document['catalog']})")
    for column in ("at", "event", "details"):
        timeline.add_column(column)
    for event in document["timeline"]:
        timeline.add_row(event["at"], event["event"], _details(event))
    console.print(timeline)
    for invoice in document["invoices"]:
        title = (
            f"Invoice {invoice['number']}, issued {invoice['issued_at']}, period "
            f"{invoice['period_start'][:10]} to {invoice['period_end'][:10]}: "
            f"{_money(invoice['total'])} {invoice['currency']}, {invoice['status']}"
        )
        lines = Table(title=title)
        for column in ("kind", "description", "qty", "unit", "amount"):
            lines.add_column(column, justify="right" if column in {"qty", "unit", "amount"} else "left")
        for line in invoice["lines"]:
            lines.add_row(
                line["kind"],
                line["description"],
                str(line["quantity"]),
                _money(line["unit_amount"]),
                _money(line["amount"]),
            )
        console.print(lines)
    if document["rejected"]:
        rejected = Table(title="Refused steps")
        for column in ("at", "step", "line", "error", "message"):
            rejected.add_column(column)
        for item in document["rejected"]:
            rejected.add_row(item["at"], item["step"], str(item["line"]), item["error"], item["message"])
        console.print(rejected)
    final = document["final"]
    console.print(f"[bold]final:[/] status {final['status']}, plan {final['plan']}")


def simulate_command(
    scenario: Annotated[Path, typer.Argument(help="The scenario (YAML, see docs/simulate.md).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here instead of stdout.")] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="json (default), or tables for people.")
    ] = Format.json,
    stable_ids: Annotated[
        bool, typer.Option("--stable-ids", help="Replace Stripe's generated ids with placeholders.")
    ] = False,
) -> None:
    """Run a scenario on private servers (time-skipping Temporal, PostgreSQL, Stripe
    emulator) and print what happened: invoices, timeline, refused steps, final state."""
    with friendly_errors():
        document = _run(scenario, stable_ids)
        text = json.dumps(document, indent=2) + "\n"
        if out is not None:
            out.write_text(text, "utf-8")
        if output_format is Format.table:
            render_tables(document, Console())
        elif out is None:
            sys.stdout.write(text)
        sys.stdout.flush()


def register(app: typer.Typer) -> None:
    """Add `simulate` to ``app``."""
    app.command("simulate")(simulate_command)

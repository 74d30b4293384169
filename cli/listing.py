"""`tenure list`: subscriptions found through Temporal visibility (the search attributes the
workflows publish), e.g. every `canceling` one, or every period ending before a date."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from temporalio.common import SearchAttributeKey

from cli.errors import USAGE, fail, friendly_errors, load_settings
from config.temporal import connect
from contracts.search_attributes import CANCEL_AT, CATALOG, PAID_SEATS, PERIOD_END, PLAN, STATUS

console = Console()
_NAME = r"^[a-z0-9_\-]+$"


def _quoted(value: str, what: str) -> str:
    # Values are interpolated into a visibility query: accept plain names only.
    if not re.match(_NAME, value):
        fail(f"{what} must be a plain name (letters, digits, '-', '_'), not {value!r}", USAGE)
    return f'"{value}"'


def query_for(
    status: str | None, plan: str | None, catalog: str | None, period_end_before: datetime | None
) -> str:
    """The visibility query of the filters (running subscriptions only)."""
    parts = ['WorkflowType = "Subscription"', 'ExecutionStatus = "Running"']
    if status:
        parts.append(f"TenureStatus = {_quoted(status, '--status')}")
    if plan:
        parts.append(f"TenurePlan = {_quoted(plan, '--plan')}")
    if catalog:
        parts.append(f"TenureCatalog = {_quoted(catalog, '--catalog')}")
    if period_end_before:
        instant = period_end_before.replace(tzinfo=period_end_before.tzinfo or UTC).isoformat()
        parts.append(f'TenurePeriodEnd < "{instant}"')
    return " AND ".join(parts)


def _value(found: Any, key: SearchAttributeKey[Any]) -> Any:
    value = found.get(key)
    return value.isoformat() if isinstance(value, datetime) else value


async def _list(query: str, limit: int) -> list[dict[str, Any]]:
    client = await connect(load_settings())
    rows: list[dict[str, Any]] = []
    async for execution in client.list_workflows(query, limit=limit):
        attributes = execution.typed_search_attributes
        rows.append(
            {
                "workspace_id": execution.id.removeprefix("subscription-"),
                "status": _value(attributes, STATUS),
                "plan": _value(attributes, PLAN),
                "catalog": _value(attributes, CATALOG),
                "paid_seats": _value(attributes, PAID_SEATS),
                "period_end": _value(attributes, PERIOD_END),
                "cancel_at": _value(attributes, CANCEL_AT),
            }
        )
    return sorted(rows, key=lambda r: r["workspace_id"])


def list_subscriptions(
    status: Annotated[str | None, typer.Option(help="e.g. canceling, past_due, trialing.")] = None,
    plan: Annotated[str | None, typer.Option(help="Plan id.")] = None,
    catalog: Annotated[str | None, typer.Option(help="seats or credits.")] = None,
    period_end_before: Annotated[
        datetime | None, typer.Option(help="Periods ending before this instant (UTC if no zone).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Subscriptions matching the filters (Temporal visibility; updated within seconds)."""
    query = query_for(status, plan, catalog, period_end_before)
    with friendly_errors():
        rows = asyncio.run(_list(query, limit))
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("workspace", "status", "plan", "seats", "period end", "cancels at", title=query)
    for r in rows:
        cells = [r["workspace_id"], r["status"], r["plan"], r["paid_seats"], r["period_end"], r["cancel_at"]]
        table.add_row(*["" if c is None else str(c) for c in cells])
    console.print(table)

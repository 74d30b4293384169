"""`tenure webhooks`: add, list, remove and replay webhook endpoints (docs/webhooks.md).

The same service as the HTTP API: ``add`` prints the signing secret once; a refusal (a URL
that is not http(s), an unknown event type or endpoint) exits 4 with its code, as every
command the engine refuses (docs/cli.md).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.runner import run_with_client, services_over
from client import TenureClient

if TYPE_CHECKING:
    from services.webhooks import Endpoint

webhooks_app = typer.Typer(help="Webhook endpoints: where Tenure pushes its events.", no_args_is_help=True)
console = Console()
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _shown(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "status": endpoint.status,
        "created_at": endpoint.created_at.isoformat(),
        "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
    }


@webhooks_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="Where to POST events (http:// or https://).")],
    event: Annotated[
        list[str] | None, typer.Option("--event", help="An event type to receive (repeat; none: all).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Create an endpoint and print its signing secret once (it cannot be shown again)."""

    async def work(client: TenureClient, engine: AsyncEngine) -> dict[str, Any]:
        created = await services_over(client, engine).webhooks.create(url, event or [])
        return _shown(created.endpoint) | {"secret": created.secret}

    found = run_with_client(work, "creating the endpoint")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    types = ", ".join(found["event_types"]) or "all events"
    console.print(f"endpoint {found['id']} → {found['url']} ({types})", highlight=False)
    console.print(f"signing secret: {found['secret']}", highlight=False)
    console.print("[dim]store it now: it cannot be shown again[/]")


@webhooks_app.command("list")
def list_(as_json: Json = False) -> None:
    """List endpoints (never their secrets)."""

    async def work(client: TenureClient, engine: AsyncEngine) -> list[dict[str, Any]]:
        return [_shown(e) for e in await services_over(client, engine).webhooks.endpoints()]

    found = run_with_client(work, "reading endpoints")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table("id", "url", "events", "status", "created")
    for e in found:
        table.add_row(e["id"], e["url"], ", ".join(e["event_types"]) or "all", e["status"], e["created_at"])
    console.print(table)


@webhooks_app.command("remove")
def remove(endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (we_...).")]) -> None:
    """Delete an endpoint: deliveries to it stop."""

    async def work(client: TenureClient, engine: AsyncEngine) -> None:
        await services_over(client, engine).webhooks.delete(endpoint_id)

    run_with_client(work, "removing the endpoint")
    console.print(f"endpoint {endpoint_id} removed")


@webhooks_app.command("replay")
def replay(
    endpoint_id: Annotated[str, typer.Argument(help="The endpoint's id (we_...).")],
    after: Annotated[str | None, typer.Option(help="Send the events after this event id.")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this event id, included.")] = None,
    workspace: Annotated[str | None, typer.Option(help="Only this workspace's events.")] = None,
    as_json: Json = False,
) -> None:
    """Send a range of events again (a failing endpoint is resumed)."""

    async def work(client: TenureClient, engine: AsyncEngine) -> dict[str, Any]:
        done = await services_over(client, engine).webhooks.replay(endpoint_id, after, until, workspace)
        return {
            "endpoint_id": done.endpoint_id,
            "after": done.after,
            "until": done.until,
            "workspace_id": workspace,
        }

    found = run_with_client(work, "asking the dispatcher to replay")
    if as_json:
        print(json.dumps(found, indent=2))
        return
    console.print(
        f"endpoint {endpoint_id}: replaying after {after or 'the start'} until {until or 'the newest'}"
        + (f" for {workspace}" if workspace else ""),
        highlight=False,
    )

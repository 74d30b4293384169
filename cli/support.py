"""Support commands: read a subscription, cancel or reactivate it, extend a trial, list and
void invoices. Staff act under their own name (``--staff``, audited as ``staff:<name>``).

Every read command takes ``--json``. Exit codes: docs/cli.md (4: the engine refused).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import CommandResult
from billing.overview import Overview
from cli.contracts import contract_app
from cli.listing import list_subscriptions
from cli.overview_view import money
from cli.runner import Staff, run_with_client, services_over, staff_login
from client import TenureClient

if TYPE_CHECKING:
    from services.overview import OverviewOut

console = Console()
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def show(workspace: Annotated[str, typer.Argument(help="Workspace id.")], as_json: Json = False) -> None:
    """The billing overview of a workspace: the API's overview as panels (or its JSON)."""
    from cli.overview_view import print_overview

    async def work(client: TenureClient, engine: AsyncEngine) -> OverviewOut:
        return await services_over(client, engine).overview.overview(workspace)

    found = run_with_client(work, "reading the subscription and its usage")
    if as_json:
        print(found.model_dump_json(indent=2))
    else:
        print_overview(found, console)


def invoices(workspace: Annotated[str, typer.Argument(help="Workspace id.")], as_json: Json = False) -> None:
    """The workspace's invoices, newest first, with their PDF links."""

    async def work(client: TenureClient, engine: AsyncEngine) -> list[dict[str, Any]]:
        found = await services_over(client, engine).support.invoices(workspace)
        return [
            {
                "number": i.number,
                "issued_at": i.issued_at.isoformat(),
                "total": i.total,
                "currency": i.currency,
                "status": i.status,
                "attempt_count": i.attempt_count,
                "pdf_url": i.pdf_url,
            }
            for i in found
        ]

    found = run_with_client(work)
    if as_json:
        print(json.dumps(found, indent=2))
        return
    table = Table("invoice", "issued", "total", "status", "attempts", "PDF")
    for i in found:
        issued = i["issued_at"][:10]
        table.add_row(
            i["number"],
            issued,
            money(i["total"], i["currency"]),
            i["status"],
            str(i["attempt_count"]),
            i["pdf_url"] or "",
        )
    console.print(table)


def void(
    invoice: Annotated[str, typer.Argument(help="Invoice number.")],
    staff: Staff = "",
) -> None:
    """Void an invoice that is still being collected (it will not be charged)."""
    login = staff_login(staff)

    async def work(client: TenureClient, engine: AsyncEngine) -> None:
        await services_over(client, engine).invoices.void(invoice, f"staff:{login}")

    # Paid before the void arrived: refused (exit 4), the money was collected.
    run_with_client(work, f"voiding {invoice}: waiting for its collection to stop")
    console.print(f"invoice {invoice} voided by staff:{login}")


def cancel(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with the cancellation).")],
    staff: Staff = "",
) -> None:
    """Cancel at the end of what is paid (the ``cancel`` Update: a refusal exits 4 with its code)."""
    login = staff_login(staff)

    async def work(client: TenureClient, _: AsyncEngine) -> CommandResult:
        return await client.request_cancellation(workspace, reason=reason, staff=login)

    result = run_with_client(work, "cancelling")
    when = f"{result.effective_at:%Y-%m-%d %H:%M} UTC" if result.effective_at else "now"
    console.print(f"{workspace} cancels at {when}: {result.message} (requested by staff:{login})")


def reactivate(workspace: Annotated[str, typer.Argument(help="Workspace id.")], staff: Staff = "") -> None:
    """Withdraw a cancellation, or restore a reverted workspace."""
    login = staff_login(staff)

    async def work(client: TenureClient, _: AsyncEngine) -> str:
        return (await client.reactivate(workspace, actor=f"staff:{login}")).status

    console.print(f"{workspace} is {run_with_client(work)}")


def extend_trial(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    days: Annotated[int, typer.Option(min=1, max=365, help="Days to add to the trial.")],
    staff: Staff = "",
) -> None:
    """Extend a trial by some days."""
    login = staff_login(staff)

    async def work(client: TenureClient, _: AsyncEngine) -> Overview:
        await client.extend_trial(workspace, days=days, staff=login)
        return await client.overview(workspace)

    found = run_with_client(work)
    ends = found.trial.ends_at if found.trial else None
    console.print(
        f"{workspace}: trial now ends {ends:%Y-%m-%d %H:%M} UTC" if ends else f"{workspace}: {found.status}"
    )


def register(app: typer.Typer) -> None:
    """Add the support commands to ``app``."""
    app.command()(show)
    app.command()(invoices)
    app.command()(void)
    app.command()(cancel)
    app.command()(reactivate)
    app.command("extend-trial")(extend_trial)
    app.command("list")(list_subscriptions)
    app.add_typer(contract_app, name="contract")

"""Support commands: read a subscription, cancel or reactivate it, extend a trial, list and
void invoices. Staff act under their own name (``--staff``, audited as ``staff:<name>``).

Every read command takes ``--json``. Exit codes: docs/cli.md (4: the engine refused).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import CommandResult
from billing.overview import Overview
from cli.contracts import contract_app
from cli.errors import REJECTED, fail, load_settings
from cli.listing import list_subscriptions
from cli.overview_view import money
from cli.runner import Staff, run_with_client, staff_login
from client import TenureClient, TenureError
from db import invoice_repo
from db.audit import audit_void
from db.engine import session_factory

console = Console()
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def show(workspace: Annotated[str, typer.Argument(help="Workspace id.")], as_json: Json = False) -> None:
    """The billing overview of a workspace: the API's overview as panels (or its JSON)."""
    # The API's assembly, imported here: FastAPI and friends cost every other command ~1 s.
    from fastapi import HTTPException

    from api.billing import WorkspaceContext
    from api.overview import OverviewOut, overview_of
    from api.state import AppState
    from cli.overview_view import print_overview

    async def work(client: TenureClient, engine: AsyncEngine) -> OverviewOut:
        state = AppState(load_settings(), engine, temporal=client.temporal)
        try:
            return await overview_of(WorkspaceContext(state, workspace))
        except HTTPException as missing:
            raise TenureError("not_found", str(missing.detail)) from None

    found = run_with_client(work, "reading the subscription and its usage")
    if as_json:
        print(found.model_dump_json(indent=2))
    else:
        print_overview(found, console)


def invoices(workspace: Annotated[str, typer.Argument(help="Workspace id.")], as_json: Json = False) -> None:
    """The workspace's invoices, newest first, with their PDF links."""

    async def work(_: TenureClient, engine: AsyncEngine) -> list[dict[str, Any]]:
        async with session_factory(engine)() as session:
            rows = await invoice_repo.workspace_invoices(session, workspace)
        return [
            {
                "number": r.number,
                "issued_at": r.issued_at.isoformat(),
                "total": r.total,
                "currency": r.currency,
                "status": r.status,
                "attempt_count": r.attempt_count,
                "pdf_url": r.invoice_pdf,
            }
            for r in rows
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

    async def work(client: TenureClient, engine: AsyncEngine) -> str:
        outcome = await client.void_invoice(invoice)
        await audit_void(engine, invoice, f"staff:{login}", outcome)
        return outcome

    outcome = run_with_client(work, f"voiding {invoice}: waiting for its collection to stop")
    if outcome != "void":  # paid before the void arrived: the money was collected
        fail(f"invoice {invoice} ended {outcome}, not void", REJECTED)
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

"""`tenure contract set`: support staff record a sales contract (SPEC §1.3).

Amounts are minor units (cents), as everywhere in Tenure. A paid workspace's contract starts
when its current period ends (the engine refuses another start date and says which); a
trialing, free or expired one starts it now. Refusals exit 4 with the engine's code.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import CommandResult, SetContract
from cli.errors import USAGE, fail
from cli.runner import run_with_client, staff_login
from client import TenureClient

contract_app = typer.Typer(help="Sales contracts (sales-assisted plans).", no_args_is_help=True)
console = Console()

Cents = Annotated[int, typer.Option(min=0, help="Minor units (cents).")]


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO 8601 date or time (e.g. 2027-01-01T00:00:00Z)", USAGE)
    if value.tzinfo is None:
        fail(f"{option}: give a UTC offset (e.g. 2027-01-01T00:00:00Z)", USAGE)
    return value


@contract_app.command("set")
def set_contract(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    plan: Annotated[str, typer.Option(help="A sales-assisted plan (pro, enterprise).")],
    starts: Annotated[str, typer.Option(help="Start, ISO 8601 with offset.")],
    ends: Annotated[str, typer.Option(help="End, ISO 8601 with offset.")],
    price: Annotated[int, typer.Option(min=0, help="Contract price, invoiced at the start (cents).")],
    credits: Annotated[int, typer.Option(min=0, help="Credits in the contract.")] = 0,
    rollover_credits: Annotated[int, typer.Option(min=0, help="Credits rolled over.")] = 0,
    serverless_minutes: Annotated[int, typer.Option(min=0, help="Serverless minutes in it.")] = 0,
    credit_overage_rate: Cents = 0,
    minute_overage_rate: Cents = 0,
    seat_unit_price: Cents = 0,
    staff: Annotated[str, typer.Option(help="Your support login (audited as staff:<login>).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Set a workspace's sales contract."""
    login = staff_login(staff)
    command = SetContract(
        request_id=f"contract:{workspace}:{starts}:{ends}:{price}",
        actor=f"staff:{login}",
        plan=plan,
        starts_at=_instant(starts, "--starts"),
        ends_at=_instant(ends, "--ends"),
        price=price,
        credits=credits,
        rollover_credits=rollover_credits,
        serverless_minutes=serverless_minutes,
        credit_overage_rate=credit_overage_rate,
        minute_overage_rate=minute_overage_rate,
        seat_unit_price=seat_unit_price,
    )

    async def work(client: TenureClient, _: AsyncEngine) -> CommandResult:
        return await client.set_contract(workspace, command)

    result = run_with_client(work, "setting the contract")
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        console.print(f"{workspace}: {result.message} (plan {result.plan}, {result.status})")


@contract_app.command("approve-seats")
def approve_seats(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    request: Annotated[str, typer.Argument(help="The seat request's id (see `tenure show`).")],
    staff: Annotated[str, typer.Option(help="Your support login (audited as staff:<login>).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Approve a request for more contract seats: they are charged at the contract's unit price."""
    login = staff_login(staff)

    async def work(client: TenureClient, _: AsyncEngine) -> CommandResult:
        return await client.approve_seats(
            workspace, request=request, staff=login, request_id=f"approve:{workspace}:{request}"
        )

    result = run_with_client(work, "approving the seats")
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        console.print(f"{workspace}: {result.message}")

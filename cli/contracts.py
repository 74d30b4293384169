"""`tenure contract set`: support staff record a sales contract (SPEC §1.3).

Amounts are minor units (cents), as everywhere in Tenure. A paid workspace's contract starts
when its current period ends (the engine refuses another start date and says which); a
trialing, free or expired one starts it now. Refusals exit 4 with the engine's code.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import annotated_types
import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from billing import CommandResult, SetContract
from billing.state import ContractPricing, ContractTerms
from cli.errors import USAGE, fail
from cli.runner import run_with_client, staff_login
from client import TenureClient

contract_app = typer.Typer(help="Sales contracts (sales-assisted plans).", no_args_is_help=True)
console = Console()

_CENTS = ("price", "credit_overage_rate", "minute_overage_rate", "seat_unit_price")


def _instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO 8601 date or time (e.g. 2027-01-01T00:00:00Z)", USAGE)
    if value.tzinfo is None:
        fail(f"{option}: give a UTC offset (e.g. 2027-01-01T00:00:00Z)", USAGE)
    return value


def _pricing_options() -> list[inspect.Parameter]:
    """One option per field of `ContractPricing` (``--plan``, ``--seat-unit-price``...): a
    contract term declared in billing reaches the CLI with its description, bounds and default."""
    options = []
    for name, field in ContractPricing.model_fields.items():
        kind = int if field.annotation is int else str
        text = str(field.description).rstrip(".") + (" (cents)." if name in _CENTS else ".")
        most = next((int(m.le) for m in field.metadata if isinstance(m, annotated_types.Le)), None)  # type: ignore[call-overload]
        option = typer.Option(help=text, min=0 if kind is int else None, max=most)
        default = inspect.Parameter.empty if field.is_required() else field.default
        annotation = Annotated[kind, option]  # type: ignore[valid-type]
        options.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        )
    return options


def set_contract(
    workspace: Annotated[str, typer.Argument(help="Workspace id.")],
    *,
    starts: Annotated[str, typer.Option(help="Start, ISO 8601 with offset.")],
    ends: Annotated[str, typer.Option(help="End, ISO 8601 with offset.")],
    staff: Annotated[str, typer.Option(help="Your support login (audited as staff:<login>).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    **pricing: Any,
) -> None:
    """Set a workspace's sales contract."""
    login = staff_login(staff)
    terms = ContractTerms(starts_at=_instant(starts, "--starts"), ends_at=_instant(ends, "--ends"), **pricing)
    command = SetContract(
        request_id=f"contract:{workspace}:{starts}:{ends}:{terms.price}",
        actor=f"staff:{login}",
        **terms.model_dump(),
    )

    async def work(client: TenureClient, _: AsyncEngine) -> CommandResult:
        return await client.set_contract(workspace, command)

    result = run_with_client(work, "setting the contract")
    if as_json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        console.print(f"{workspace}: {result.message} (plan {result.plan}, {result.status})")


def _with_pricing_options(command: Callable[..., None]) -> Callable[..., None]:
    # Typer reads the options from the signature and the annotations: the declared ones,
    # then the contract's pricing in place of ``**pricing``.
    declared = inspect.signature(command, eval_str=True)
    own = [p for p in declared.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    signature = declared.replace(parameters=[*own, *_pricing_options()])
    command.__signature__ = signature  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()} | {"return": None}
    return command


contract_app.command("set")(_with_pricing_options(set_contract))


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

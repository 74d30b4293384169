"""What the support commands share: the staff login and running work against the stack."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.errors import USAGE, fail, friendly_errors, load_settings, refusal_exit_code
from client import TenureClient, TenureError
from db.engine import async_engine, required_url

if TYPE_CHECKING:
    from services import Services

T = TypeVar("T")
Staff = Annotated[
    str,
    typer.Option(help="Your support login (audited as staff:<login>; default: $USER).", show_default=False),
]


def staff_login(login: str | None) -> str:
    """The staff member acting: ``--staff`` or $USER (exit 2 if neither names anyone)."""
    name = login or os.environ.get("USER", "")
    if not name:
        fail("name yourself with --staff LOGIN (recorded in the audit log)", USAGE)
    return name


def services_over(client: TenureClient, engine: AsyncEngine) -> Services:
    """The API's services over this command's client and database (imported late: they load
    the Stripe SDK and the catalog, which every other command would pay for)."""
    from billing.catalog import load_catalog
    from services import services_for

    settings = load_settings()

    async def source() -> TenureClient:
        return client

    return services_for(settings, engine, source, load_catalog(settings.catalog))


def run_with_client(
    work: Callable[[TenureClient, AsyncEngine], Awaitable[T]], doing: str = "asking Temporal"
) -> T:
    """Run ``work`` with a client and the database; refusals exit 4 with their code.

    A spinner on stderr says what is being waited for (stdout stays clean for ``--json``;
    Rich shows nothing when stderr is not a terminal).
    """

    async def main() -> T:
        settings = load_settings()
        engine = async_engine(required_url(settings.database_url), pool_size=2)
        try:
            return await work(await TenureClient.connect(settings), engine)
        finally:
            await engine.dispose()

    with friendly_errors(), Console(stderr=True).status(doing):
        try:
            return asyncio.run(main())
        except TenureError as refused:
            fail(f"{refused.code}: {refused.message}", refusal_exit_code(refused.code))

"""`tenure tokens`: bearer tokens for backend services and support staff."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from cli.errors import FAILED, USAGE, fail, friendly_errors, load_settings
from db import tokens
from db.engine import required_url, sync_engine

tokens_app = typer.Typer(help="Create, list and revoke API bearer tokens.", no_args_is_help=True)
console = Console()


def _session() -> Session:
    return Session(sync_engine(required_url(load_settings().database_url)))


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses the token.")],
    staff: Annotated[bool, typer.Option(help="A support-staff token (support endpoints).")] = False,
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    with friendly_errors(), _session() as session:
        try:
            issued = tokens.issue(session, name, "staff" if staff else "service")
        except ValueError as error:
            fail(str(error), USAGE)
        session.commit()
        console.print(f"token {issued.id} ({issued.scope}) for {issued.name}:")
        console.print(issued.secret, highlight=False)
        console.print("[dim]store it now: it cannot be shown again[/]")


@tokens_app.command("list")
def list_() -> None:
    """List tokens (never the secrets)."""
    with friendly_errors(), _session() as session:
        table = Table("id", "name", "scope", "created", "revoked")
        for token in tokens.list_tokens(session):
            revoked = token.revoked_at.isoformat() if token.revoked_at else ""
            table.add_row(token.id, token.name, token.scope, token.created_at.isoformat(), revoked)
        console.print(table)


@tokens_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token; requests using it are refused from then on."""
    with friendly_errors(), _session() as session:
        if not tokens.revoke(session, token_id):
            fail(f"no active token with id {token_id!r}", FAILED)
        session.commit()
        console.print(f"token {token_id} revoked")

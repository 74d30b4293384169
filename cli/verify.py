"""`tenure verify`: check that nothing was lost or doubled (services/verify.py, issue 18).

Exit 0 when every promise holds, 1 with one line per violation (``--json``: one JSON
document), 3 when the database, Temporal or Stripe cannot be reached.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.errors import FAILED, USAGE, fail, load_settings
from cli.runner import run_with_client
from client import TenureClient


def verify(
    workspace: Annotated[str | None, typer.Option("--workspace", help="The workspace to check.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Check every workspace.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Compare the audit log, the SQL projection, Stripe's charges and the outbound logs
    with the workflows; exit 1 listing each violation."""
    if (workspace is None) == (not every):
        fail("name one workspace with --workspace ID, or check them all with --all", USAGE)
    from services.verify import Violation, verify_service

    async def work(client: TenureClient, engine: AsyncEngine) -> tuple[int, list[Violation]]:
        async def source() -> TenureClient:
            return client

        checker = verify_service(load_settings(), engine, source)
        if workspace is not None:
            return 1, await checker.verify(workspace)
        return len(await checker.workspace_ids()), await checker.verify_all()

    checked, found = run_with_client(work, "checking invariants")
    if as_json:
        print(json.dumps({"checked": checked, "violations": [v.as_json() for v in found]}))
    else:
        for violation in found:
            print(violation.line())
        if not found:
            print(f"ok: {checked} workspace(s), no violation")
    if found:
        raise typer.Exit(FAILED)

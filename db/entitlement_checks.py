"""The entitlement check's one round trip: the caller's token and the workspace's row together.

The check is the hottest read Tenure serves (the product asks before every action), so it
skips what every other read pays: no ORM session, no pool pre-ping, no separate token
lookup. A few psycopg connections of its own run one prepared statement per check kind,
answering whether the token is active (the rule of `db.tokens.find_active`: its hash is
known and it is not revoked) and the workspace's ``active`` with the one value asked for.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.entitlements import LimitName

_SELECT: Final = """
SELECT EXISTS (SELECT 1 FROM api_tokens WHERE token_hash = %(token_hash)s AND revoked_at IS NULL),
       e.active, {columns}
FROM (SELECT 1) AS one LEFT JOIN entitlements AS e ON e.workspace_id = %(workspace_id)s
"""
_COUNT_CONNECTORS: Final = (
    "(SELECT count(*) FROM connections AS c WHERE c.workspace_id = e.workspace_id AND c.status = 'active')"
)
_SPACES: Final = "(SELECT w.spaces FROM workspaces AS w WHERE w.id = e.workspace_id)"
# Per check kind, what comes after ``active``: the features, or a limit and its count.
_COLUMNS: Final[dict[str, str]] = {
    "feature": "e.features",
    "members": "e.max_members, e.members_used",
    "paid_seats": "e.max_paid_seats, e.paid_seats_used",
    "connectors": f"e.max_connectors, {_COUNT_CONNECTORS}",
    "spaces": f"e.max_spaces, coalesce({_SPACES}, 0)",
}
STATEMENTS: Final[dict[str, str]] = {kind: _SELECT.format(columns=c) for kind, c in _COLUMNS.items()}


class CheckReader:
    """Runs the check statements on ``size`` connections opened on first use."""

    def __init__(self, engine: AsyncEngine, size: int = 4) -> None:
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size = size
        self._opened = 0
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self._all: list[psycopg.AsyncConnection[Any]] = []

    async def _checkout(self) -> psycopg.AsyncConnection[Any]:
        if self._idle.empty() and self._opened < self._size:
            self._opened += 1
            try:
                conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            except BaseException:
                self._opened -= 1
                raise
            self._all.append(conn)
            return conn
        return await self._idle.get()

    async def _drop(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._opened -= 1
        self._all.remove(conn)
        await conn.close()

    async def row(self, token_hash: str, workspace_id: str, kind: LimitName | str) -> tuple[Any, ...]:
        """``(token_active, active, *values)``; ``active`` None: the workspace has no row.

        A connection the server dropped is replaced and the statement run once more.
        """
        params = {"token_hash": token_hash, "workspace_id": workspace_id}
        for attempt in (1, 2):
            conn = await self._checkout()
            try:
                found = await (await conn.execute(STATEMENTS[kind], params, prepare=True)).fetchone()
            except psycopg.OperationalError:
                await self._drop(conn)
                if attempt == 2:
                    raise
                continue
            except BaseException:  # cancelled mid-statement: its state is unknown
                await self._drop(conn)
                raise
            self._idle.put_nowait(conn)
            assert found is not None  # one row always (the LEFT JOIN)
            return tuple(found)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Close every connection (the API's lifespan ends)."""
        for conn in list(self._all):
            await conn.close()
        self._all.clear()
        self._opened = 0

"""Bulk usage ingestion: PostgreSQL COPY into a staging table, then one merge (SPEC §4).

A batch is never written row by row. Its rows are copied (COPY FROM STDIN) into a temporary
staging table that lives until the end of the transaction, then merged into
``usage_events`` with one ``INSERT ... SELECT``: an event id already stored for its
workspace is skipped, so a replayed or overlapping batch counts each id once (see
`_MERGE_NEW` for the concurrent case).

Rows are encoded in COPY's text format in one pass (one string per batch, not a Python
call per value), which is what makes COPY from Python fast.

The caller owns the transaction (the staging table is dropped at its commit or rollback).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.errors import UniqueViolation
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("workspace_id", "event_id", "kind", "at", "credits", "serverless_minutes", "payload")
_COLUMN_LIST = ", ".join(COLUMNS)

_STAGING = "usage_staging"
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DROP"
)
_INSERTED = "SELECT workspace_id, count(*) FROM inserted GROUP BY workspace_id"
# Fast path: only the ids not stored yet, a plain INSERT (no speculative insertion per row,
# half the cost of ON CONFLICT; a replayed batch inserts nothing). A batch committed
# concurrently with overlapping ids makes it fail with a unique violation: then the batch
# is merged again with ON CONFLICT DO NOTHING, which waits for the other and skips its ids.
# Both insert in key order, so two overlapping batches lock common keys in the same order.
_MERGE_NEW = f"""
WITH inserted AS (
    INSERT INTO usage_events ({_COLUMN_LIST}, received_at)
    SELECT {_COLUMN_LIST}, received_at FROM {_STAGING} s
    WHERE NOT EXISTS (
        SELECT FROM usage_events u WHERE u.workspace_id = s.workspace_id AND u.event_id = s.event_id
    )
    ORDER BY workspace_id, event_id
    RETURNING workspace_id
)
{_INSERTED}
"""
_MERGE = f"""
WITH inserted AS (
    INSERT INTO usage_events ({_COLUMN_LIST}, received_at)
    SELECT {_COLUMN_LIST}, received_at FROM {_STAGING} ORDER BY workspace_id, event_id
    ON CONFLICT DO NOTHING
    RETURNING workspace_id
)
{_INSERTED}
"""
# COPY's text format: backslash, tab, newline and carriage return are escaped in a value.
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class UsageRow(NamedTuple):
    """One usage event as stored: credits and minutes already priced."""

    workspace_id: str
    event_id: str
    kind: str
    at: datetime
    credits: int
    serverless_minutes: int
    payload: str  # the event as JSON text


async def driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under ``session``'s connection, inside its transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


def _text(value: str) -> str:
    return value.translate(_ESCAPES) if _SPECIAL.search(value) else value


def encode_rows(rows: Iterable[UsageRow], escape: bool = True) -> bytes:
    """``rows`` in COPY's text format (workspace ids and kinds never need escaping).

    ``escape=False`` when no event id or payload can hold a backslash, tab or newline
    (the caller knows: a JSON body without a backslash cannot produce one).
    """
    if not escape:
        return "".join(
            [
                f"{r.workspace_id}\t{r.event_id}\t{r.kind}\t{r.at.isoformat()}\t"
                f"{r.credits}\t{r.serverless_minutes}\t{r.payload}\n"
                for r in rows
            ]
        ).encode()
    return "".join(
        [
            f"{r.workspace_id}\t{_text(r.event_id)}\t{r.kind}\t{r.at.isoformat()}\t"
            f"{r.credits}\t{r.serverless_minutes}\t{_text(r.payload)}\n"
            for r in rows
        ]
    ).encode()


async def copy_encoded(connection: AsyncConnection[Any], table: str, data: bytes) -> None:
    """COPY rows encoded by `encode_rows` into ``table`` (``usage_events`` or one like it)."""
    async with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({_COLUMN_LIST}) FROM STDIN") as copy,
    ):
        await copy.write(data)


async def ingest(session: AsyncSession, rows: Sequence[UsageRow], escape: bool = True) -> dict[str, int]:
    """Store ``rows`` once each: COPY into the staging table, merge, skip known ids.

    ``rows`` must not repeat a ``(workspace_id, event_id)`` (the caller keeps the first);
    ``escape``: see `encode_rows`.

    Returns:
        How many rows were new, per workspace (workspaces with none new are absent).
    """
    if not rows:
        return {}
    connection = await driver_connection(session)
    async with connection.cursor() as cursor:
        await cursor.execute(_CREATE_STAGING)
        await cursor.execute(f"TRUNCATE {_STAGING}")
    await copy_encoded(connection, _STAGING, encode_rows(rows, escape))
    async with connection.cursor() as cursor:
        await cursor.execute("SAVEPOINT usage_merge")
        try:
            await cursor.execute(_MERGE_NEW)
        except UniqueViolation:
            await cursor.execute("ROLLBACK TO SAVEPOINT usage_merge")
            await cursor.execute(_MERGE)
        counted = await cursor.fetchall()
        await cursor.execute("RELEASE SAVEPOINT usage_merge")
    return {str(workspace): int(count) for workspace, count in counted}

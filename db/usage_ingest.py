"""Bulk usage ingestion: PostgreSQL COPY into a staging table, then one merge (SPEC §4).

A batch is never written row by row. Its rows are copied (binary COPY) into a temporary
staging table that lives until the end of the transaction, then merged into
``usage_events`` with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: an event id
already stored for its workspace is skipped, so a replayed or overlapping batch counts each
id once. The merge inserts in key order, so two overlapping batches committed at the same
time lock their common keys in the same order and never deadlock.

The caller owns the transaction (the staging table is dropped at its commit or rollback).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import AsyncConnection
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("workspace_id", "event_id", "kind", "at", "credits", "serverless_minutes", "payload")
_COLUMN_LIST = ", ".join(COLUMNS)
# Binary COPY needs each column's type named up front.
_TYPES = ("text", "text", "text", "timestamptz", "int8", "int8", "jsonb")

_STAGING = "usage_staging"
_CREATE_STAGING = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_STAGING} (LIKE usage_events INCLUDING DEFAULTS) ON COMMIT DROP"
)
_MERGE = f"""
WITH inserted AS (
    INSERT INTO usage_events ({_COLUMN_LIST}, received_at)
    SELECT {_COLUMN_LIST}, received_at FROM {_STAGING} ORDER BY workspace_id, event_id
    ON CONFLICT DO NOTHING
    RETURNING workspace_id
)
SELECT workspace_id, count(*) FROM inserted GROUP BY workspace_id
"""


class UsageRow(NamedTuple):
    """One usage event as stored: credits and minutes already priced."""

    workspace_id: str
    event_id: str
    kind: str
    at: datetime
    credits: int
    serverless_minutes: int
    payload: dict[str, Any]


async def driver_connection(session: AsyncSession) -> AsyncConnection[Any]:
    """The psycopg connection under ``session``'s connection, inside its transaction."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: AsyncConnection[Any] = raw.driver_connection  # type: ignore[assignment]
    return driver


async def copy_rows(connection: AsyncConnection[Any], table: str, rows: Iterable[UsageRow]) -> None:
    """Binary COPY of ``rows`` into ``table`` (``usage_events`` or a table like it)."""
    statement = f"COPY {table} ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)"
    async with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(list(_TYPES))
        for row in rows:
            await copy.write_row((*row[:6], Jsonb(row.payload)))


async def ingest(session: AsyncSession, rows: Sequence[UsageRow]) -> dict[str, int]:
    """Store ``rows`` once each: COPY into the staging table, merge, skip known ids.

    ``rows`` must not repeat a ``(workspace_id, event_id)`` (the caller keeps the first).

    Returns:
        How many rows were new, per workspace (workspaces with none new are absent).
    """
    if not rows:
        return {}
    connection = await driver_connection(session)
    async with connection.cursor() as cursor:
        await cursor.execute(_CREATE_STAGING)
        await cursor.execute(f"TRUNCATE {_STAGING}")
    await copy_rows(connection, _STAGING, rows)
    async with connection.cursor() as cursor:
        await cursor.execute(_MERGE)
        counted = await cursor.fetchall()
    return {str(workspace): int(count) for workspace, count in counted}

"""Stored `Idempotency-Key`s of the HTTP API (Stripe's semantics, see `api.idempotency`).

One row per (token, key): the request's fingerprint, and once it finished its response
(status, content type, body). A row without a status is a request still running. Rows older
than the TTL are deleted when a key is claimed, so the table holds about a day of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class IdempotencyKeyRow(Base):
    """A key a token sent, what it was sent with, and the answer it got."""

    __tablename__ = "idempotency_keys"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class Claim:
    """What a claimed key means for the request: run it, replay, or refuse it."""

    outcome: Literal["run", "replay", "reused", "in_use"]
    status: int = 0
    content_type: str | None = None
    body: bytes = b""


_TABLE = cast(Table, IdempotencyKeyRow.__table__)


async def claim(
    conn: AsyncConnection,
    *,
    token_hash: str,
    key: str,
    fingerprint: str,
    now: datetime,
    ttl: timedelta,
    lock: timedelta,
) -> Claim:
    """Claim ``key`` for a request, or say what its earlier use decides; the caller commits.

    A running request older than ``lock`` is taken over (its process died: the command's
    request id still makes the rerun apply once).
    """
    await conn.execute(delete(_TABLE).where(_TABLE.c.created_at < now - ttl))
    inserted = await conn.execute(
        insert(_TABLE)
        .values(token_hash=token_hash, key=key, fingerprint=fingerprint, created_at=now)
        .on_conflict_do_nothing()
        .returning(_TABLE.c.key)
    )
    if inserted.first() is not None:
        return Claim("run")
    row = (await conn.execute(select(_TABLE).where(_of(token_hash, key)).with_for_update())).one()
    if row.fingerprint != fingerprint:
        return Claim("reused")
    if row.status is not None:
        return Claim("replay", row.status, row.content_type, row.body or b"")
    if row.created_at >= now - lock:
        return Claim("in_use")
    await conn.execute(update(_TABLE).where(_of(token_hash, key)).values(created_at=now))
    return Claim("run")


async def finish(
    conn: AsyncConnection, *, token_hash: str, key: str, status: int, content_type: str | None, body: bytes
) -> None:
    """Store the response of a claimed key; the caller commits."""
    values = {"status": status, "content_type": content_type, "body": body}
    await conn.execute(update(_TABLE).where(_of(token_hash, key)).values(**values))


async def release(conn: AsyncConnection, *, token_hash: str, key: str) -> None:
    """Forget a claimed key whose request failed (a retry runs it again); the caller commits."""
    await conn.execute(delete(_TABLE).where(_of(token_hash, key), _TABLE.c.status.is_(None)))


def _of(token_hash: str, key: str) -> ColumnElement[bool]:
    return and_(_TABLE.c.token_hash == token_hash, _TABLE.c.key == key)

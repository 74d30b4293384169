"""The outbound event log against the embedded PostgreSQL: once per source key, gapless
per-workspace sequences, a global cursor in commit order even under concurrent appends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.events import NewEvent, event_id
from db import event_log
from db.engine import async_engine, session_factory
from db.migrate import upgrade
from devstack.postgres import EmbeddedPostgres

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
async def engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=6)
    yield engine
    await engine.dispose()


def _ws() -> str:
    return f"ws_ev_{uuid.uuid4().hex[:10]}"


def _event(ws: str, key: str, type_: str = "member.added") -> NewEvent:
    return NewEvent(workspace_id=ws, type=type_, occurred_at=AT, source_key=key, payload={"key": key})


async def test_an_event_is_appended_once_and_sequences_have_no_gaps(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ws = _ws()
    async with sessions.begin() as session:
        first = await event_log.append(session, [_event(ws, "a"), _event(ws, "b"), _event(ws, "a")])
    async with sessions.begin() as session:
        again = await event_log.append(session, [_event(ws, "b"), _event(ws, "c")])
    assert [(e.sequence, e.payload["key"]) for e in first] == [(1, "a"), (2, "b")]
    assert [(e.sequence, e.payload["key"]) for e in again] == [(3, "c")]
    assert first[0].id == event_id(ws, "a")
    async with sessions() as session:
        rows = await event_log.after(session, 0, 100, workspace_id=ws)
    assert [r.workspace_seq for r in rows] == [1, 2, 3]


async def test_a_rolled_back_change_leaves_no_event(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ws = _ws()

    async def failing_change() -> None:
        async with sessions.begin() as session:
            await event_log.append(session, [_event(ws, "lost")])
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        await failing_change()
    async with sessions() as session:
        assert await event_log.after(session, 0, 10, workspace_id=ws) == []


async def test_the_cursor_never_skips_an_event_committed_later(engine: AsyncEngine) -> None:
    # Twenty concurrent transactions, each holding its append open a while: a reader that
    # pages with the last seq it saw must end with every event, each once.
    sessions = session_factory(engine)
    workspaces = [_ws() for _ in range(4)]

    async def write(i: int) -> None:
        async with sessions.begin() as session:
            await event_log.append(session, [_event(workspaces[i % 4], f"k{i}")])
            await asyncio.sleep(0.01 * (i % 3))

    seen: list[str] = []
    cursor = 0

    async def read_once() -> None:
        nonlocal cursor
        async with sessions() as session:
            for row in await event_log.after(session, cursor, 5):
                if row.workspace_id in workspaces:
                    seen.append(row.source_key)
                cursor = row.seq

    writers = asyncio.gather(*(write(i) for i in range(20)))
    while not writers.done():
        await read_once()
        await asyncio.sleep(0.005)
    await writers
    for _ in range(10):
        await read_once()
    assert sorted(seen) == sorted(f"k{i}" for i in range(20))
    async with sessions() as session:
        for ws in workspaces:
            rows = await event_log.after(session, 0, 100, workspace_id=ws)
            assert [r.workspace_seq for r in rows] == list(range(1, len(rows) + 1))


async def test_filters_by_type(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    ws = _ws()
    async with sessions.begin() as session:
        await event_log.append(session, [_event(ws, "m"), _event(ws, "i", "invoice.paid")])
    async with sessions() as session:
        rows = await event_log.after(session, 0, 10, workspace_id=ws, types=["invoice.paid"])
    assert [r.type for r in rows] == ["invoice.paid"]

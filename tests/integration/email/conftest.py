"""The e-mail tests' fixtures: a database of their own (the relay sends every due row, so
other tests' outbox rows must not be in it), and the development SMTP sink
(`devstack.smtp_sink`) on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import async_engine
from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import SmtpSink

DATABASE = "email_relay_tests"


@pytest.fixture(scope="session")
async def mail_engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    """An engine on a migrated database only the e-mail tests use."""
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = postgres.url.rsplit("/", 1)[0] + f"/{DATABASE}"
    upgrade(url)
    engine = async_engine(url, pool_size=6)
    yield engine
    await engine.dispose()


@pytest.fixture
async def engine(mail_engine: AsyncEngine) -> AsyncEngine:
    """The e-mail database with an empty outbox."""
    async with mail_engine.begin() as conn:
        await conn.execute(text("TRUNCATE email_outbox"))
    return mail_engine


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A running sink storing into a fresh directory (each test sees only its messages)."""
    sink = SmtpSink(tmp_path / "mail", free_port())
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()

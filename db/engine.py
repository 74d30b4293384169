"""Engines and sessions. The caller owns the transaction (unit of work)."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


class DatabaseConfigError(ValueError):
    """The database URL is missing or not a PostgreSQL URL."""


def required_url(url: str | None) -> str:
    """The configured database URL; every process that needs one refuses to start without it.

    Raises:
        DatabaseConfigError: ``url`` is None (``TENURE_DATABASE_URL`` is not set).
    """
    if url is None:
        raise DatabaseConfigError(
            "TENURE_DATABASE_URL is not set: point it at PostgreSQL (or run `tenure dev`)"
        )
    return url


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pin the psycopg 3 driver.

    Raises:
        DatabaseConfigError: the URL is not a PostgreSQL URL.
    """
    try:
        parsed = make_url(url)
    except Exception as error:
        raise DatabaseConfigError(f"TENURE_DATABASE_URL is not a valid URL: {url!r}") from error
    if parsed.get_backend_name() not in {"postgresql", "postgres"}:
        raise DatabaseConfigError(
            f"TENURE_DATABASE_URL must be a PostgreSQL URL (postgresql://...), got {parsed.drivername!r}"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def sync_engine(url: str) -> Engine:
    """A synchronous engine (migrations, CLI)."""
    return create_engine(normalise_url(url), pool_pre_ping=True)


def async_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An asyncio engine (API, activities); its statements traced when tracing is on."""
    engine = create_async_engine(normalise_url(url), pool_size=pool_size, pool_pre_ping=True)
    # issue 19: a span per statement (a no-op while tracing is off).
    from observability.tracing import instrument_engine

    instrument_engine(engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Round-trip ``SELECT 1``; raises when the database cannot be reached."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))

"""The hand-written migrations build exactly the schema the models describe, names included."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Index, create_engine, text
from sqlalchemy.engine import Engine

import db.models  # noqa: F401  (registers every table)
from db.base import Base
from db.migrate import alembic_config, upgrade
from devstack.postgres import EmbeddedPostgres


@pytest.fixture(scope="module")
def scratch_url(postgres: EmbeddedPostgres) -> Iterator[str]:
    """A database of its own: this module downgrades, which must not disturb other tests."""
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS lifecycle_schema")
        conn.execute("CREATE DATABASE lifecycle_schema")
    yield postgres.url.rsplit("/", 1)[0] + "/lifecycle_schema"
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS lifecycle_schema WITH (FORCE)")


@pytest.fixture(scope="module")
def engine(scratch_url: str) -> Iterator[Engine]:
    upgrade(scratch_url)
    engine = create_engine(scratch_url)
    yield engine
    engine.dispose()


def test_the_database_after_upgrade_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_constraint_and_index_names_follow_the_naming_convention(engine: Engine) -> None:
    expected: set[str] = set()
    for table in Base.metadata.tables.values():
        expected |= {str(c.name) for c in table.constraints}
        expected |= {str(i.name) for i in table.indexes if isinstance(i, Index)}
    with engine.connect() as conn:
        constraints = conn.execute(
            text(
                "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f', 'c')"
            )
        ).scalars()
        indexes = conn.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint)"
            )
        ).scalars()
        found = set(constraints) | set(indexes)
    found.discard("pk_alembic_version")
    found.discard("alembic_version_pkc")
    assert found == expected


def test_downgrade_to_the_api_tokens_schema_and_back(engine: Engine, scratch_url: str) -> None:
    command.downgrade(alembic_config(scratch_url), "0001")
    with engine.connect() as conn:
        tables = set(
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars()
        )
    assert tables == {"alembic_version", "api_tokens"}
    upgrade(scratch_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []

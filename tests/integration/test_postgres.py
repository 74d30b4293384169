"""The embedded PostgreSQL: TCP on 127.0.0.1, data kept across restarts, migrations apply."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from db.migrate import current_heads, upgrade
from devstack.ports import PortInUseError, free_port
from devstack.postgres import EmbeddedPostgres


def _quiet(name: str, line: str) -> None:
    pass


def test_data_survives_a_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), _quiet)
    server.start()
    try:
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
    finally:
        server.stop()
    assert server.pid is None
    server.start()
    try:
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == (42,)
    finally:
        server.stop()


def test_migrations_reach_head_and_are_idempotent(postgres: EmbeddedPostgres) -> None:
    upgrade(postgres.url)
    upgrade(postgres.url)
    with psycopg.connect(postgres.dsn) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    assert version is not None
    assert (version[0],) == current_heads()


def test_a_taken_port_is_reported_before_anything_starts(tmp_path: Path, postgres: EmbeddedPostgres) -> None:
    clash = EmbeddedPostgres(tmp_path / "other", postgres.port, _quiet)
    expected = f"port {postgres.port} for PostgreSQL.*TENURE_DEV_POSTGRES_PORT"
    with pytest.raises(PortInUseError, match=expected):
        clash.start()
    assert not (tmp_path / "other").exists()

"""Shared servers for integration tests: started once per session, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres


def _quiet(name: str, line: str) -> None:
    """Child logs are not interesting in tests unless something fails."""


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """An embedded PostgreSQL with an empty `tenure` database."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port(), _quiet)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Path:
    """A per-test working directory."""
    return tmp_path

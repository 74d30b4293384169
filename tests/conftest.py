"""Session-wide servers: started once by the tests themselves, stopped at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from db.engine import async_engine
from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.timeskip import time_skipping_server


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


@pytest.fixture(scope="session")
async def migrated_engine(postgres: EmbeddedPostgres) -> AsyncIterator[AsyncEngine]:
    """An async engine on the migrated `tenure` database."""
    upgrade(postgres.url)
    engine = async_engine(postgres.url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, with Tenure's search attributes registered."""
    async with time_skipping_server() as env:
        yield env

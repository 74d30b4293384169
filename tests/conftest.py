"""Session-wide servers: started once by the tests themselves, stopped at the end."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from config.settings import SEARCH_ATTRIBUTES
from db.engine import async_engine
from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """The test server starts with none: a workflow upserting one would fail forever."""
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )


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
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=str(TEST_SERVER)
    )
    await register_search_attributes(env)
    yield env
    await env.shutdown()

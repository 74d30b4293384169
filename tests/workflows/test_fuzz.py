"""Property-based fuzzing of the whole API from its OpenAPI schema (schemathesis): valid and
invalid requests for every operation, against the real stack over real HTTP. The property:
no 5xx, ever. Every refusal is a 4xx with the ``{code, message, details}`` shape.

Bounded for CI: ``TENURE_FUZZ_EXAMPLES`` examples per operation and mode (default 8;
derandomized, so a CI failure reproduces locally with the same seed-free run).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.openapi import from_dict
from temporalio.service import RPCError

from api.app import create_app
from config.settings import Settings
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import created
from workflows.messages import workflow_id

EXAMPLES = int(os.environ.get("TENURE_FUZZ_EXAMPLES", "8"))


def _operations() -> list[Any]:
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    # An operation schemathesis cannot read is a failure of this test, not a skipped one.
    return [result.ok() for result in from_dict(app.openapi()).get_all_operations()]  # type: ignore[union-attr]


def _fuzz(operation: Any, mode: GenerationMode, server: ApiServer, pins: dict[str, Any]) -> list[str]:
    """Run one operation's examples; the 5xx answers found (as curl commands)."""
    token = server.staff_token if operation.path.startswith("/v1/support") else server.service_token
    headers = {"Authorization": f"Bearer {token}"}
    found: list[str] = []
    strategy = operation.as_strategy(mode, **pins)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case[Any]) -> None:
        response = case.call(base_url=server.url, headers=headers, timeout=60)
        if response.status_code >= 500:
            found.append(f"{response.status_code}: {case.as_curl_command(headers)}\n{response.text[:300]}")
        elif response.status_code >= 400:
            # Every error, whatever produced it (validation, auth, limits), has the one shape.
            body = response.json()
            assert isinstance(body, dict), response.text
            assert set(body) == {"code", "message", "details"}, response.text
        if operation.path == "/v1/workspaces" and response.status_code == 200:
            started.append(response.json()["workspace_id"])

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no parameters, no body)
        run()
    return found


started: list[str] = []


@pytest.mark.timeout(900)
async def test_no_request_makes_the_api_fail(api_server: ApiServer, api: Any, driver: Driver) -> None:
    ws = await created(api, driver)
    failures: list[str] = []
    try:
        for operation in _operations():
            # Random ids exercise "unknown workspace"; the real workspace with its admin
            # exercises the commands themselves, with random bodies.
            real = {"path_parameters": {"workspace_id": ws}} if "{workspace_id}" in operation.path else {}
            if "X-Acting-User" in str(operation.definition.raw):
                real["headers"] = {"X-Acting-User": "alice"}
            for mode, pins in (
                (GenerationMode.POSITIVE, real),
                (GenerationMode.POSITIVE, {}),
                (GenerationMode.NEGATIVE, {}),
            ):
                failures += await asyncio.to_thread(_fuzz, operation, mode, api_server, pins)
    finally:
        # Subscriptions the fuzzer created would keep firing timers after this module.
        for created_ws in started:
            with contextlib.suppress(RPCError):
                await driver.env.client.get_workflow_handle(workflow_id(created_ws)).terminate("fuzz done")
        # So would an endpoint's dispatcher (a poll timer): every skipped second would wake it.
        listed = await api.get("/v1/webhook-endpoints")
        for endpoint in listed.json() if listed.status_code == 200 else []:
            await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    assert not failures, "\n\n".join(failures)

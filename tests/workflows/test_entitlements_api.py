"""Entitlements over real HTTP, Temporal and PostgreSQL (issue 15): the projection follows the
decisions, the check agrees with what the engine refuses, bad input is a 422 naming the field,
the `EntitlementsClient` speaks the same two calls, and no Temporal query is on the path."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from client import EntitlementsClient, TenureError
from config.settings import Settings
from contracts.entitlements import Entitlements
from devstack.ports import free_port
from devstack.stripe_emulator.server import BackgroundServer
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created


async def _entitlements(api: httpx.AsyncClient, ws: str, **expected: Any) -> dict[str, Any]:
    """The entitlements once the projection shows ``expected`` (decisions are asynchronous)."""
    body: dict[str, Any] = {}
    for _ in range(200):
        answer = await api.get(f"/v1/workspaces/{ws}/entitlements")
        if answer.status_code == 200:
            body = answer.json()
            if all(body.get(k) == v for k, v in expected.items()):
                return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"entitlements never showed {expected}: {body}")


async def _check(api: httpx.AsyncClient, ws: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await api.post(f"/v1/workspaces/{ws}/entitlements/check", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_a_free_workspace_then_business_with_the_engine_in_agreement(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver, spaces=2)
    base = f"/v1/workspaces/{ws}"
    free = await _entitlements(api, ws, status="free")
    assert (free["plan"], free["active"], free["features"]) == ("free", True, [])
    assert free["limits"] == {
        "members": {"limit": 5, "used": 2, "remaining": 3},
        "paid_seats": {"limit": 100, "used": 0, "remaining": 100},
        "connectors": {"limit": 3, "used": 0, "remaining": 3},
        "spaces": {"limit": 5, "used": 2, "remaining": 3},
    }
    assert free["credits"]["included"] == 200  # two members on the free seat's 100 credits
    # Connectors: the check says what the engine then does, at the limit and before it.
    for name in ("notion", "slack", "drive"):
        assert await _check(api, ws, {"limit": "connectors"}) == {
            "allowed": True,
            "reason": None,
            "limit": 3,
            "used": ["notion", "slack", "drive"].index(name),
            "remaining": 3 - ["notion", "slack", "drive"].index(name),
        }
        assert (await api.put(f"{base}/connections/{name}", json={"kind": name})).status_code == 200
    refused = await _check(api, ws, {"limit": "connectors", "quantity": 1})
    assert (refused["allowed"], refused["reason"], refused["used"]) == (False, "limit_reached", 3)
    engine = await api.put(f"{base}/connections/github", json={"kind": "github"})
    assert (engine.status_code, engine.json()["code"]) == (409, "free_limit_exceeded")
    assert (await _check(api, ws, {"limit": "spaces", "quantity": 4}))["reason"] == "limit_reached"
    assert (await _check(api, ws, {"feature": "sso"}))["reason"] == "feature_not_in_plan"
    # The first paid seat: business (the engine's decision), and one entitlements.updated more.
    seat = await api.post(f"{base}/seats", json={"user": "bob", "type": "pro"}, headers=as_user("alice"))
    assert seat.status_code == 200, seat.text
    business = await _entitlements(api, ws, plan="business")
    assert business["status"] == "active"
    assert business["limits"]["paid_seats"] == {"limit": 100, "used": 1, "remaining": 99}
    assert business["limits"]["members"] == {"limit": None, "used": 2, "remaining": None}
    events = await driver.rows(
        "SELECT payload FROM events WHERE workspace_id = :ws AND type = 'entitlements.updated'"
        " ORDER BY workspace_seq"
    )
    assert [e["payload"]["plan"] for e in events] == ["free", "business"]
    last = Entitlements.model_validate(events[-1]["payload"])  # the full snapshot, as the API shows it
    assert last.limits["paid_seats"].used == 1
    assert last.features == ()
    assert business["version"] == last.version


async def test_bad_checks_are_422_naming_the_field_and_unknown_workspaces_404(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    await _entitlements(api, ws, status="free")
    path = f"/v1/workspaces/{ws}/entitlements/check"
    cases: list[tuple[Any, str]] = [
        ({"feature": "teleportation"}, "body.feature"),
        ({"limit": "rockets"}, "body.limit"),
        ({"limit": "members", "quantity": 0}, "body.quantity"),
        ({"limit": "members", "quantity": "many"}, "body.quantity"),
        ({"limit": "members", "unknown": 1}, "body.unknown"),
        ({"feature": "sso", "limit": "members"}, "body"),
        ({"feature": "sso", "quantity": 2}, "body"),
        ({}, "body"),
    ]
    for body, field in cases:
        answer = await api.post(path, json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["code"] == "invalid_argument"
        assert field in [e["field"] for e in answer.json()["details"]["errors"]], (body, answer.text)
    for missing in (
        await api.get("/v1/workspaces/nobody-here/entitlements"),
        await api.post("/v1/workspaces/nobody-here/entitlements/check", json={"feature": "sso"}),
    ):
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


async def test_the_http_client_and_no_temporal_on_the_path(
    api_server: ApiServer, api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    await _entitlements(api, ws, status="free")
    async with EntitlementsClient(api_server.url, api_server.service_token) as client:
        shown = await client.entitlements(ws)
        assert (shown.plan, shown.active, shown.limits["members"].limit) == ("free", True, 5)
        assert (await client.check_limit(ws, "members", 3)).allowed
        assert (await client.check_limit(ws, "members", 4)).reason == "limit_reached"
        assert (await client.check_feature(ws, "audit_logs")).reason == "feature_not_in_plan"
        with pytest.raises(TenureError) as missing:
            await client.entitlements("nobody-here")
        assert missing.value.code == "not_found"
        with pytest.raises(TenureError) as unknown:
            await client.check_feature(ws, "teleportation")
        assert unknown.value.code == "invalid_argument"
    async with EntitlementsClient(api_server.url, "not-a-token") as stranger:
        with pytest.raises(TenureError) as refused:
            await stranger.entitlements(ws)
        assert refused.value.code == "unauthenticated"
    # The same database behind an API whose Temporal does not exist: both calls still answer.
    settings = Settings(
        database_url=driver.engine.url.render_as_string(hide_password=False),
        temporal_address=f"127.0.0.1:{free_port()}",
        stripe_api_key=SecretStr("sk_test_unused"),
    )
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with EntitlementsClient(server.url, api_server.service_token) as cut_off:
            assert (await cut_off.entitlements(ws)).status == "free"
            assert (await cut_off.check_limit(ws, "connectors")).allowed
    finally:
        await asyncio.to_thread(server.stop)

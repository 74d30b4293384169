"""Entity endpoints over real HTTP against the real stack: connections, data sources, agents
and the Slack bot as the product reports them, each change audited with before and after,
and what a revert does to what was registered this way."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created


async def _audit(driver: Driver) -> list[dict[str, Any]]:
    """The workspace's audit rows written by the entity endpoints."""
    return await driver.rows(
        "SELECT actor, action, before, after FROM audit_log WHERE workspace_id = :ws "
        "AND action LIKE ANY (ARRAY['put_%', 'delete_%', '%slack_bot']) ORDER BY id"
    )


async def test_the_product_reports_its_entities(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    base = f"/v1/workspaces/{ws}"
    docs = [{"id": "d1", "bytes": 10}, {"id": "d2", "bytes": 32}]
    notion = await api.put(f"{base}/connections/notion", json={"kind": "notion", "documents": docs})
    assert notion.status_code == 200, notion.text
    assert notion.json() == {
        "id": "notion",
        "kind": "notion",
        "status": "active",
        "documents": 2,
        "document_bytes": 42,
    }
    # A PUT describes the whole entity: the documents become exactly these.
    again = await api.put(
        f"{base}/connections/notion", json={"kind": "notion", "documents": [docs[0]]}, headers=as_user("bob")
    )
    assert (again.json()["documents"], again.json()["document_bytes"]) == (1, 10)

    handbook = await api.put(f"{base}/data-sources/handbook", json={"bytes": 80_000_000})
    assert handbook.json() == {
        "id": "handbook",
        "bytes": 80_000_000,
        "status": "active",
        "deletion_scheduled_at": None,
        "documents": 0,
    }
    assert (await api.put(f"{base}/agents/support-bot")).json() == {"id": "support-bot", "status": "active"}
    assert (await api.put(f"{base}/slack-bot")).json() == {"installed": True}

    listed = (await api.get(f"{base}/entities")).json()
    assert [c["id"] for c in listed["connections"]] == ["notion"]
    assert [(d["id"], d["bytes"]) for d in listed["data_sources"]] == [("handbook", 80_000_000)]
    assert [a["id"] for a in listed["agents"]] == ["support-bot"]
    assert listed["slack_bot"] is True

    assert (await api.delete(f"{base}/agents/support-bot")).status_code == 204
    assert (await api.delete(f"{base}/slack-bot")).json() == {"installed": False}
    missing = await api.delete(f"{base}/agents/support-bot")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    audit = await _audit(driver)
    assert [(a["actor"], a["action"]) for a in audit] == [
        ("service:workflow tests", "put_connection"),
        ("bob", "put_connection"),
        ("service:workflow tests", "put_data_source"),
        ("service:workflow tests", "put_agent"),
        ("service:workflow tests", "install_slack_bot"),
        ("service:workflow tests", "delete_agent"),
        ("service:workflow tests", "remove_slack_bot"),
    ]
    assert audit[0]["before"] is None
    assert (audit[1]["before"]["documents"], audit[1]["after"]["documents"]) == (2, 1)
    assert audit[5]["after"] is None


async def test_a_revert_acts_on_what_the_api_registered(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    base = f"/v1/workspaces/{ws}"
    await api.put(f"{base}/connections/notion", json={"documents": [{"id": "n1", "bytes": 5}]})
    await api.put(f"{base}/data-sources/handbook", json={"bytes": 80_000_000})
    await api.put(f"{base}/data-sources/faq", json={"bytes": 1_000})
    await api.put(f"{base}/agents/support-bot")
    seat = await api.post(f"{base}/seats", json={"user": "alice", "type": "pro"}, headers=as_user("alice"))
    assert seat.status_code == 200, seat.text
    cancelled = await api.post(f"{base}/cancel", json={"reason": "budget"}, headers=as_user("alice"))
    assert cancelled.status_code == 200, cancelled.text
    await driver.advance_to(datetime.fromisoformat(cancelled.json()["effective_at"]))
    await driver.wait_for(lambda s: s.status == "free", "the revert to free")
    # The revert's activity writes the tables after the state moved: wait for its mark.
    for _ in range(300):
        entities = (await api.get(f"{base}/entities")).json()
        if entities["agents"][0]["status"] == "deactivated":
            break
        await asyncio.sleep(0.1)
    assert [(c["id"], c["status"]) for c in entities["connections"]] == [("notion", "deleted")]
    assert [a["status"] for a in entities["agents"]] == ["deactivated"]
    big = {d["id"]: d for d in entities["data_sources"]}
    assert big["handbook"]["deletion_scheduled_at"] is not None
    assert big["faq"]["deletion_scheduled_at"] is None
    # Putting the agent again does not undo the revert's deactivation; a size update
    # keeps the scheduled deletion.
    assert (await api.put(f"{base}/agents/support-bot")).json()["status"] == "deactivated"
    resized = (await api.put(f"{base}/data-sources/handbook", json={"bytes": 90_000_000})).json()
    assert resized["deletion_scheduled_at"] == big["handbook"]["deletion_scheduled_at"]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("put", "data-sources/big", {"bytes": -1}, {}, 422, "invalid_argument"),
        ("put", "data-sources/big", {"bytes": "lots"}, {}, 422, "invalid_argument"),
        ("put", "data-sources/big", {}, {}, 422, "invalid_argument"),
        ("put", "connections/has space", {}, {}, 422, "invalid_argument"),
        ("put", "connections/notion", {"kind": "notion", "colour": "red"}, {}, 422, "invalid_argument"),
        ("put", "connections/notion", {"documents": [{"id": "d", "bytes": -5}]}, {}, 422, "invalid_argument"),
        ("put", "agents/bot", None, as_user("zoe"), 403, "forbidden"),
        ("put", "agents/bot", None, as_user("staff:eve"), 403, "forbidden"),
        ("delete", "connections/never", None, {}, 404, "not_found"),
    ],
)
async def test_bad_entity_input_changes_nothing(
    api: httpx.AsyncClient,
    driver: Driver,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    ws = await created(api, driver)
    before = (await api.get(f"/v1/workspaces/{ws}/entities")).json()
    answer = await api.request(method, f"/v1/workspaces/{ws}/{path}", json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert (await api.get(f"/v1/workspaces/{ws}/entities")).json() == before
    assert await _audit(driver) == []


async def test_entities_of_unknown_or_deleted_workspaces(api: httpx.AsyncClient, driver: Driver) -> None:
    unknown = await api.put("/v1/workspaces/nobody-here/agents/a")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "workspace_not_found")
    ws = await created(api, driver)
    deleted = await api.post(f"/v1/workspaces/{ws}/delete", json={"confirm": ws}, headers=as_user("alice"))
    assert deleted.status_code == 200, deleted.text
    assert driver.handle is not None
    assert await driver.handle.result() == "deleted"
    gone = await api.put(f"/v1/workspaces/{ws}/agents/a")
    assert (gone.status_code, gone.json()["code"]) == (409, "workspace_deleted")


async def test_a_free_workspace_is_held_to_the_free_plans_data_limits(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    """SPEC §2: additions beyond the free plan's limits are refused with 409
    ``free_limit_exceeded`` naming the limit, and the overview lists every limit exceeded
    (the free plan: 3 connectors, 5 spaces)."""
    ws = await created(api, driver, spaces=7)
    base = f"/v1/workspaces/{ws}"
    for name in ("notion", "slack", "drive"):
        assert (await api.put(f"{base}/connections/{name}", json={"kind": name})).status_code == 200
    refused = await api.put(f"{base}/connections/github", json={"kind": "github"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "free_limit_exceeded"
    assert refused.json()["details"] == {"limit": "connectors", "allowed": 3, "current": 3}
    listed = (await api.get(f"{base}/entities")).json()
    assert [c["id"] for c in listed["connections"]] == ["drive", "notion", "slack"]  # nothing stored
    # Changing a connection that exists is not an addition.
    assert (await api.put(f"{base}/connections/slack", json={"kind": "slack"})).status_code == 200
    warnings = (await api.get(f"{base}/overview")).json()["warnings"]
    assert "Over the free plan's limit: 7 spaces, 5 allowed." in warnings
    assert not any("connectors" in w for w in warnings)  # 3 of 3 is within the limit

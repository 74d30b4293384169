"""Helpers of the HTTP API tests: a workspace created through the API, acting-user headers."""

from __future__ import annotations

import uuid

import httpx

from tests.workflows.driver import Driver


async def created(
    api: httpx.AsyncClient, driver: Driver, *, spaces: int = 0, roles: tuple[str, str] = ("admin", "member")
) -> str:
    """A fresh workspace (alice and bob with ``roles``: the seats catalog's admin and member
    by default; a card) created twice through the API."""
    ws = f"http-{uuid.uuid4().hex[:8]}"
    setup = {
        "workspace_id": ws,
        "spaces": spaces,
        "billing_contact_email": "billing@acme.test",
        "members": [
            {"user_id": "alice", "role": roles[0], "role_granted_at": "2026-01-05T00:00:00Z"},
            {"user_id": "bob", "role": roles[1], "role_granted_at": "2026-02-01T00:00:00Z"},
        ],
    }
    first = await api.post("/v1/workspaces", json=setup)
    assert (first.status_code, first.json()) == (200, {"workspace_id": ws, "created": True}), first.text
    again = await api.post("/v1/workspaces", json=setup)
    assert again.json() == {"workspace_id": ws, "created": False}
    # The driver's fixture terminates what it knows of when the test ends.
    driver.adopt(ws)
    await driver.payments.give_card(ws)
    return ws


def as_user(user: str, key: str | None = None) -> dict[str, str]:
    """Headers naming the acting user (and an idempotency key)."""
    return {"X-Acting-User": user} | ({"Idempotency-Key": key} if key else {})

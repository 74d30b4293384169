"""Subscription endpoints over HTTP against the real stack: create, commands with the acting
user's role checked, idempotency keys, previews, refusals that change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.workflows.driver import Driver
from tests.workflows.http import as_user as _as
from tests.workflows.http import created as _created


async def test_an_admin_runs_the_subscription_through_the_api(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await _created(api, driver)
    seat = {"user": "alice", "type": "pro"}
    quote = await api.post(f"/v1/workspaces/{ws}/seats/preview", json=seat, headers=_as("alice"))
    assert quote.status_code == 200, quote.text
    # Checkout opens the draft invoice that posts when its window ends: its exact lines.
    assert [line["kind"] for line in quote.json()["draft"]["lines"]] == ["seat"]
    assert quote.json()["draft_change"] == sum(line["amount"] for line in quote.json()["draft"]["lines"]) > 0

    assigned = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=_as("alice", "seat-1"))
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "active"
    repeated = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=_as("alice", "seat-1"))
    assert repeated.json() == assigned.json()
    assert (await driver.overview()).paid_seat_count == 1

    cancelled = await api.post(f"/v1/workspaces/{ws}/cancel", json={"reason": "budget"}, headers=_as("alice"))
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "canceling")
    back = await api.post(f"/v1/workspaces/{ws}/reactivate", headers=_as("alice"))
    assert (back.status_code, back.json()["status"]) == (200, "active")
    page = (await api.get(f"/v1/workspaces/{ws}/overview")).json()
    assert (page["subscription"]["status"], page["subscription"]["paid_seat_count"]) == ("active", 1)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        ("post", "seats", {"user": "bob", "type": "pro"}, _as("bob"), 403, "forbidden"),
        ("post", "seats", {"user": "bob", "type": "platinum"}, _as("alice"), 404, "seat_type_not_found"),
        ("post", "seats", {"user": "zoe", "type": "pro"}, _as("alice"), 404, "member_not_found"),
        (
            "post",
            "seats",
            {"user": "bob", "type": "pro", "cycle": "weekly"},
            _as("alice"),
            422,
            "invalid_argument",
        ),
        ("post", "seats", {"user": "bob", "type": "pro"}, {}, 422, "invalid_argument"),
        ("delete", "seats/bob", None, _as("alice"), 409, "seat_not_assigned"),
        ("put", "plan", {"plan": "galactic"}, _as("alice"), 404, "plan_not_found"),
        ("post", "delete", {"confirm": "not-the-id"}, _as("alice"), 400, "confirmation_mismatch"),
        ("post", "cancel", {"reason": 5}, _as("alice"), 422, "invalid_argument"),
        ("post", "reactivate", None, _as("alice"), 409, "not_allowed_in_status"),
        ("post", "seats", {"user": "bob", "type": "pro"}, _as("staff:eve"), 403, "forbidden"),
        ("post", "seats/preview", {"user": "bob", "type": "pro"}, _as("bob"), 403, "forbidden"),
    ],
)
async def test_refusals_have_their_code_and_change_nothing(
    api: httpx.AsyncClient,
    driver: Driver,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    ws = await _created(api, driver)
    before = await driver.state()
    answer = await api.request(method, f"/v1/workspaces/{ws}/{path}", json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert await driver.state() == before


async def test_commands_for_an_unknown_workspace_are_404(api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/v1/workspaces/nobody/seats", json={"user": "a", "type": "pro"}, headers=_as("a")
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


async def test_the_roster_follows_the_product(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await _created(api, driver)
    added = await api.post(f"/v1/workspaces/{ws}/members", json={"user": "dan"}, headers=_as("alice", "m1"))
    assert added.status_code == 200, added.text
    again = await api.post(f"/v1/workspaces/{ws}/members", json={"user": "dan"}, headers=_as("alice", "m1"))
    assert again.json() == added.json()  # same key: the first result, nothing added twice
    promoted = await api.put(
        f"/v1/workspaces/{ws}/members/dan/role", json={"role": "admin"}, headers=_as("alice")
    )
    assert promoted.status_code == 200, promoted.text
    assert (await driver.state()).members["dan"].role == "admin"
    gone = await api.delete(f"/v1/workspaces/{ws}/members/dan", headers=_as("alice"))
    assert gone.status_code == 200, gone.text
    assert "dan" not in (await driver.state()).members
    # The removal takes effect everywhere at once: no row left, so no billing right over HTTP.
    assert await driver.rows("SELECT user_id FROM members WHERE workspace_id = :ws AND user_id = 'dan'") == []
    card = await api.put(
        f"/v1/workspaces/{ws}/billing-details", json={"billing_email": "dan@x.test"}, headers=_as("dan")
    )
    assert (card.status_code, card.json()["code"]) == (403, "forbidden")
    twice = await api.post(f"/v1/workspaces/{ws}/members", json={"user": "bob"}, headers=_as("alice"))
    assert (twice.status_code, twice.json()["code"]) == (409, "member_exists")

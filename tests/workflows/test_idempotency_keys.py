"""`Idempotency-Key` as Stripe has it, over HTTP on the real stack: per token, fingerprinted
(method, path, body), the first response again byte for byte, 422 for another request under
the same key, 409 while the first still runs, usage POSTs and DELETEs included, 24 h."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from db.tokens import hash_token
from services.idempotency import IdempotencyStore, fingerprint
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created

DAY = timedelta(hours=24)


def _same(first: httpx.Response, again: httpx.Response) -> None:
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


async def test_the_same_request_answers_the_first_response_byte_for_byte(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    seat = {"user": "bob", "type": "pro"}
    first = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", "k-seat"))
    assert first.status_code == 200, first.text
    again = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", "k-seat"))
    _same(first, again)
    assert (await driver.overview()).paid_seat_count == 1


async def test_the_same_key_with_another_request_is_refused_and_changes_nothing(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    key = as_user("alice", "k-other")
    assert (
        await api.post(f"/v1/workspaces/{ws}/seats", json={"user": "bob", "type": "pro"}, headers=key)
    ).is_success
    other_body = await api.post(
        f"/v1/workspaces/{ws}/seats", json={"user": "alice", "type": "pro"}, headers=key
    )
    other_path = await api.delete(f"/v1/workspaces/{ws}/seats/bob", headers=key)
    for refused in (other_body, other_path):
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "idempotency_key_reused"
        assert set(refused.json()) == {"code", "message", "details"}
    assert (await driver.overview()).paid_seat_count == 1  # bob's seat only, and still there


async def test_a_refusal_is_kept_too_and_answered_again(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    seat = {"user": "bob", "type": "platinum"}
    first = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", "k-404"))
    assert (first.status_code, first.json()["code"]) == (404, "seat_type_not_found")
    _same(first, await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", "k-404")))


async def test_a_retried_delete_answers_its_first_result_not_404(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await created(api, driver)
    await api.post(
        f"/v1/workspaces/{ws}/seats", json={"user": "bob", "type": "pro"}, headers=as_user("alice")
    )
    first = await api.delete(f"/v1/workspaces/{ws}/seats/bob", headers=as_user("alice", "k-delete"))
    assert first.status_code == 200, first.text
    again = await api.delete(f"/v1/workspaces/{ws}/seats/bob", headers=as_user("alice", "k-delete"))
    _same(first, again)
    # Without the key the repeat is a new request, refused as the seat is gone.
    fresh = await api.delete(f"/v1/workspaces/{ws}/seats/bob", headers=as_user("alice"))
    assert fresh.json()["code"] == "seat_not_assigned"


async def test_a_usage_post_is_answered_from_its_key(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    events = {
        "events": [{"id": f"e{i}", "kind": "asset_check", "at": "2026-03-02T10:00:00Z"} for i in range(3)]
    }
    first = await api.post(f"/v1/workspaces/{ws}/usage", json=events, headers={"Idempotency-Key": "k-usage"})
    assert first.json() == {"received": 3, "new": 3, "duplicates": 0}
    again = await api.post(f"/v1/workspaces/{ws}/usage", json=events, headers={"Idempotency-Key": "k-usage"})
    _same(first, again)  # the first answer ("3 new"), not "3 duplicates"
    plain = await api.post(f"/v1/workspaces/{ws}/usage", json=events)
    assert plain.json() == {"received": 3, "new": 0, "duplicates": 3}


async def test_two_tokens_with_the_same_key_are_independent(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    other = await created(api, driver)
    seat = {"user": "bob", "type": "pro"}
    first = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=as_user("alice", "k-shared"))
    assert first.status_code == 200, first.text
    staff = {"Authorization": f"Bearer {api_server.staff_token}", "X-Acting-User": "eve"}
    async with httpx.AsyncClient(base_url=api_server.url, headers=staff, timeout=60) as support:
        path = f"/v1/support/workspaces/{other}/cancel"
        cancelled = await support.post(
            path, json={"reason": "budget"}, headers={"Idempotency-Key": "k-shared"}
        )
    # Another request under the same key: "reused" for the first token, a new one for this,
    # run and answered on its own merits (a free workspace has nothing to cancel).
    assert (cancelled.status_code, cancelled.json()["code"]) == (409, "not_allowed_in_status")
    assert "idempotent-replayed" not in cancelled.headers


async def test_a_key_still_running_is_409_in_use(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, migrated_engine: AsyncEngine
) -> None:
    ws = await created(api, driver)
    path = f"/v1/workspaces/{ws}/seats"
    body = b'{"user":"bob","type":"pro"}'
    # The first request holds the key (claimed, no answer yet), as while its Update runs.
    store = IdempotencyStore(migrated_engine, DAY)
    running = await store.claim(
        hash_token(api_server.service_token), "k-running", fingerprint("POST", path, body)
    )
    assert running.outcome == "run"
    headers = as_user("alice", "k-running") | {"content-type": "application/json"}
    second = await api.post(path, content=body, headers=headers)
    assert (second.status_code, second.json()["code"]) == (409, "idempotency_key_in_use")
    assert (await driver.overview()).paid_seat_count == 0  # the second did not run


async def test_a_key_expires_after_its_ttl(migrated_engine: AsyncEngine) -> None:
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    clock = [now]
    store = IdempotencyStore(migrated_engine, DAY, clock=lambda: clock[0])
    token, key, print_ = hash_token(uuid.uuid4().hex), "k-expiry", fingerprint("POST", "/v1/x", b"{}")
    assert (await store.claim(token, key, print_)).outcome == "run"
    await store.finish(token, key, 200, "application/json", b'{"ok":true}')
    clock[0] = now + DAY - timedelta(seconds=1)
    kept = await store.claim(token, key, fingerprint("POST", "/v1/x", b"{}"))
    assert (kept.outcome, kept.status, kept.body) == ("replay", 200, b'{"ok":true}')
    assert (await store.claim(token, key, fingerprint("POST", "/v1/x", b"[]"))).outcome == "reused"
    clock[0] = now + DAY + timedelta(seconds=1)
    # A day later the key is forgotten (as Stripe prunes them): any request runs under it.
    assert (await store.claim(token, key, fingerprint("POST", "/v1/x", b"[]"))).outcome == "run"


async def test_a_failed_request_releases_its_key(migrated_engine: AsyncEngine) -> None:
    store = IdempotencyStore(migrated_engine, DAY)
    token, print_ = hash_token(uuid.uuid4().hex), fingerprint("DELETE", "/v1/y", b"")
    assert (await store.claim(token, "k-5xx", print_)).outcome == "run"
    await store.release(token, "k-5xx")  # what the middleware does on a 5xx or an exception
    assert (await store.claim(token, "k-5xx", print_)).outcome == "run"

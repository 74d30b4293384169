"""Input the API refuses before any change: malformed JSON, an oversized body (declared or
streamed), text that is not valid Unicode, a registration that does not fit the database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created

LIMIT = 8 * 1024 * 1024  # the default TENURE_API_MAX_BODY_BYTES


async def _refused(answer: httpx.Response, status: int, code: str) -> None:
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text


async def test_body_problems_change_nothing(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    before = await driver.state()
    seats = f"/v1/workspaces/{ws}/seats"
    headers = as_user("alice") | {"Content-Type": "application/json"}
    await _refused(
        await api.post(seats, content=b'{"user": "bob", ', headers=headers), 422, "invalid_argument"
    )
    await _refused(await api.post(seats, content=b"[1, 2]", headers=headers), 422, "invalid_argument")
    big = b'{"user": "bob", "type": "pro", "pad": "' + b"x" * LIMIT + b'"}'
    await _refused(await api.post(seats, content=big, headers=headers), 413, "payload_too_large")

    async def streamed() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        for _ in range(9):
            yield b" " * (1024 * 1024)

    await _refused(await api.post(seats, content=streamed(), headers=headers), 413, "payload_too_large")
    lone = b'{"user": "bob", "type": "pro\\ud800"}'
    await _refused(await api.post(seats, content=lone, headers=headers), 400, "invalid_argument")
    assert await driver.state() == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workspace_id": "x" * 65}, "workspace_id"),
        ({"workspace_id": "has space"}, "workspace_id"),
        ({"members": [{"user_id": "a", "role": "admin"}, {"user_id": "a", "role": "member"}]}, "duplicate"),
        ({"members": [{"user_id": "a", "role": "admin", "seat": {"seat_type": "pro"}}]}, "seat"),
        (
            {
                "connections": [{"id": "c", "documents": [{"id": "d", "bytes": 1}]}],
                "data_sources": [{"id": "s", "bytes": 1, "documents": [{"id": "d", "bytes": 1}]}],
            },
            "duplicate",
        ),
        ({"data_sources": [{"id": "s", "bytes": -1}]}, "bytes"),
        ({"agents": [{"id": "a", "status": "deactivated"}]}, "status"),
        ({"billing_contact_email": "not an email"}, "billing_contact_email"),
    ],
)
async def test_a_registration_that_does_not_fit_is_refused(
    api: httpx.AsyncClient, driver: Driver, change: dict[str, object], field: str
) -> None:
    body = {"workspace_id": "fits-1"} | change
    answer = await api.post("/v1/workspaces", json=body)
    await _refused(answer, 422, "invalid_argument")
    assert field in answer.text
    ws = str(body["workspace_id"])
    assert await driver.rows(f"SELECT id FROM workspaces WHERE id = '{ws[:64]}'") == []

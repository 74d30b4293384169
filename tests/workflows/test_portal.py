"""The billing page's sessions over real HTTP: a link opens the page once, as one member of
one workspace; nothing else opens it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from db import portal_repo
from db.engine import session_factory
from services.portal_tokens import COOKIE_NAME, link_digest
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import created


async def _link(api: httpx.AsyncClient, ws: str, user: str, **extra: str) -> httpx.Response:
    return await api.post(f"/v1/workspaces/{ws}/portal-sessions", json={"user": user, **extra})


def _browser(server: ApiServer) -> httpx.AsyncClient:
    """A client as a browser: no token, cookies kept, redirects not followed (checked)."""
    return httpx.AsyncClient(base_url=server.url, timeout=30)


async def test_a_link_opens_the_page_once_for_its_member(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    answer = await _link(api, ws, "alice", return_url="https://app.acme.test/settings")
    assert answer.status_code == 201, answer.text
    link = answer.json()
    assert link["url"].startswith(f"{api_server.url}/billing/{ws}/enter?token=")
    expires = datetime.fromisoformat(link["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)

    async with _browser(api_server) as browser:
        entered = await browser.get(link["url"].removeprefix(api_server.url))
        assert entered.status_code == 303
        assert entered.headers["location"] == f"/billing/{ws}"
        cookie = entered.headers["set-cookie"].lower()
        for attribute in ("httponly", "samesite=lax", f"path=/billing/{ws.lower()}", "max-age=3600"):
            assert attribute in cookie, cookie
        page = await browser.get(f"/billing/{ws}")
        assert page.status_code == 200, page.text
        assert "Signed in as alice" in page.text
        assert 'id="read-only"' not in page.text
        assert 'href="https://app.acme.test/settings"' in page.text
        assert page.headers["cache-control"] == "no-store"
        for section in ("plans", "billing-information", "invoices"):
            assert f'id="{section}"' in page.text
        # The seats catalog: Business is billed per seat, Enterprise is sales-assisted.
        assert "Billed per seat" in page.text
        assert "Contact sales" in page.text
        assert "billing@acme.test" in page.text

        again = await browser.get(link["url"].removeprefix(api_server.url))
        assert again.status_code == 403  # single use
        assert "expired or was used already" in again.text


async def test_a_member_who_is_not_a_billing_admin_sees_the_page_read_only(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    link = (await _link(api, ws, "bob")).json()
    async with _browser(api_server) as browser:
        await browser.get(link["url"].removeprefix(api_server.url))
        page = await browser.get(f"/billing/{ws}")
        assert page.status_code == 200
        assert "Signed in as bob" in page.text
        assert 'id="read-only"' in page.text


async def test_links_only_for_active_members_and_good_return_urls(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    stranger = await _link(api, ws, "mallory")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "member_not_found")
    bad = await _link(api, ws, "alice", return_url="javascript:alert(1)")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_argument")
    nowhere = await _link(api, "no-such-workspace", "alice")
    assert nowhere.status_code == 404
    async with httpx.AsyncClient(base_url=api_server.url) as anonymous:
        unauthenticated = await anonymous.post(f"/v1/workspaces/{ws}/portal-sessions", json={"user": "alice"})
        assert unauthenticated.status_code == 401


async def test_no_cookie_another_workspaces_cookie_or_an_expired_link_open_nothing(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, migrated_engine: AsyncEngine
) -> None:
    ws = await created(api, driver)
    other = await created(api, driver)
    async with httpx.AsyncClient(base_url=api_server.url, timeout=30) as anonymous:
        assert (await anonymous.get(f"/billing/{ws}")).status_code == 403
        forged = await anonymous.get(f"/billing/{ws}", headers={"Cookie": f"{COOKIE_NAME}=e30.c2lnbmF0dXJl"})
        assert forged.status_code == 403

        link = (await _link(api, other, "alice")).json()
        entered = await anonymous.get(link["url"].removeprefix(api_server.url))
        assert entered.status_code == 303
        theirs = entered.cookies[COOKIE_NAME]
        # The browser scopes the cookie to /billing/<other>; sent to another page on purpose:
        crossed = await anonymous.get(f"/billing/{ws}", headers={"Cookie": f"{COOKIE_NAME}={theirs}"})
        assert crossed.status_code == 403
        assert "another workspace" in crossed.text

        # A link for one workspace does not open another's page either.
        link = (await _link(api, other, "alice")).json()
        token = link["url"].split("token=")[1]
        assert (await anonymous.get(f"/billing/{ws}/enter", params={"token": token})).status_code == 403

        now = datetime.now(UTC)
        async with session_factory(migrated_engine).begin() as session:
            await portal_repo.insert_link(
                session,
                link_digest("expired-token"),
                ws,
                "alice",
                None,
                now - timedelta(minutes=20),
                now - timedelta(minutes=5),
            )
        expired = await anonymous.get(f"/billing/{ws}/enter", params={"token": "expired-token"})
        assert expired.status_code == 403

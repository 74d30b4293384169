"""The billing page's forms over real HTTP, as a browser posts them: each change is previewed
with the exact charge, confirmed once, refused with the domain's message beside its field,
and refused to anyone who is not a billing admin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api.portal_format import money
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created


@asynccontextmanager
async def _signed_in(
    api: httpx.AsyncClient, server: ApiServer, ws: str, user: str
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser holding ``user``'s session on ``ws``, and the session's CSRF token."""
    link = (await api.post(f"/v1/workspaces/{ws}/portal-sessions", json={"user": user})).json()
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as browser:
        await browser.get(link["url"].removeprefix(server.url))
        page = await browser.get(f"/billing/{ws}")
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found, page.text
        yield browser, found.group(1)


def _hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, html
    return found.group(1)


async def test_an_admin_assigns_an_annual_max_seat_after_seeing_the_exact_charge(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    seat = {"user": "alice", "type": "max", "cycle": "annual"}
    quote = (await api.post(f"/v1/workspaces/{ws}/seats/preview", json=seat, headers=as_user("alice"))).json()
    expected = sum(i["total"] for i in quote["invoices"]) + quote["draft_change"]
    assert expected > 0
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        shown = await browser.post(f"/billing/{ws}/seats", data={**seat, "csrf": csrf, "_field": "seats"})
        assert shown.status_code == 200, shown.text
        assert f"Charged now: <strong>{money(expected, 'usd')}</strong>" in shown.text
        assert (await driver.overview()).paid_seat_count == 0  # a preview changes nothing
        confirm = {
            **seat,
            "csrf": csrf,
            "_field": "seats",
            "confirm": "yes",
            "request_id": _hidden(shown.text, "request_id"),
        }
        done = await browser.post(f"/billing/{ws}/seats", data=confirm)
        assert done.status_code == 303
        assert done.headers["location"].startswith(f"/billing/{ws}?notice=")
        twice = await browser.post(f"/billing/{ws}/seats", data=confirm)  # a double submit
        assert twice.status_code == 303
        overview = await driver.overview()
        assert overview.paid_seat_count == 1
        assert [(g.seat_type, g.cycle, g.count) for g in overview.paid_seats] == [("max", "annual", 1)]
        page = await browser.get(done.headers["location"])
        assert 'id="notice"' in page.text


async def test_bad_input_shows_the_domains_message_beside_the_field_and_changes_nothing(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        email = await browser.post(
            f"/billing/{ws}/billing-email",
            data={"billing_email": "not-an-email", "csrf": csrf, "_field": "billing_email"},
        )
        assert email.status_code == 422
        assert 'id="error-billing_email"' in email.text
        assert 'aria-invalid="true"' in email.text
        vat = await browser.post(
            f"/billing/{ws}/tax-ids",
            data={"type": "eu_vat", "value": "garbage", "csrf": csrf, "_field": "tax_ids"},
        )
        assert vat.status_code == 409
        assert 'id="error-tax_ids"' in vat.text
        seat = await browser.post(
            f"/billing/{ws}/seats", data={"user": "zoe", "type": "pro", "csrf": csrf, "_field": "seats"}
        )
        assert 'id="error-seats"' in seat.text
        assert "zoe" in seat.text
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert (details["billing_email"], details["tax_ids"]) == ("billing@acme.test", [])


async def test_cancel_shows_the_date_and_what_the_revert_does_then_reactivate(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    assigned = await api.post(
        f"/v1/workspaces/{ws}/seats", json={"user": "alice", "type": "pro"}, headers=as_user("alice")
    )
    assert assigned.status_code == 200, assigned.text
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        shown = await browser.post(
            f"/billing/{ws}/cancel", data={"reason": "budget", "csrf": csrf, "_field": "cancel"}
        )
        assert shown.status_code == 200, shown.text
        assert 'id="effective-at"' in shown.text
        assert 'id="revert-summary"' in shown.text
        assert "Who stays: alice; suspended: bob" in shown.text
        assert (await driver.overview()).status == "active"
        confirm = {"reason": "budget", "csrf": csrf, "_field": "cancel", "confirm": "yes"}
        confirm["request_id"] = _hidden(shown.text, "request_id")
        assert (await browser.post(f"/billing/{ws}/cancel", data=confirm)).status_code == 303
        assert (await driver.overview()).status == "canceling"
        back = await browser.post(f"/billing/{ws}/reactivate", data={"csrf": csrf, "_field": "reactivate"})
        assert back.status_code == 303
        assert (await driver.overview()).status == "active"


async def test_a_member_who_is_not_a_billing_admin_can_change_nothing(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    async with _signed_in(api, api_server, ws, "bob") as (browser, csrf):
        page = await browser.get(f"/billing/{ws}")
        assert page.text.count('disabled aria-disabled="true"') >= 4  # every form is greyed out
        for path, form in [
            ("seats", {"user": "bob", "type": "pro", "confirm": "yes"}),
            ("billing-email", {"billing_email": "bob@acme.test"}),
            ("cancel", {"confirm": "yes"}),
        ]:
            refused = await browser.post(f"/billing/{ws}/{path}", data={**form, "csrf": csrf, "_field": "x"})
            assert refused.status_code == 403, (path, refused.text)
        # A form without the session's CSRF token is refused before anything is read.
        forged = await browser.post(f"/billing/{ws}/billing-email", data={"billing_email": "x@y.test"})
        assert forged.status_code == 403
    overview = await driver.overview()
    assert (overview.status, overview.paid_seat_count) == ("free", 0)  # as it was
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert details["billing_email"] == "billing@acme.test"


async def test_delete_everything_needs_the_workspace_id_typed(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        wrong = await browser.post(
            f"/billing/{ws}/delete", data={"confirm_id": "acme", "csrf": csrf, "_field": "delete"}
        )
        assert 'id="error-delete"' in wrong.text
        assert (await driver.overview()).status == "free"
        done = await browser.post(
            f"/billing/{ws}/delete", data={"confirm_id": ws, "csrf": csrf, "_field": "delete"}
        )
        assert done.status_code == 303
    assert driver.handle is not None
    assert await driver.handle.result() == "deleted"

"""The billing page's card over real HTTP, as a browser follows it: the page starts a
SetupIntent, the emulator's test-card form confirms it as Stripe would, the page's return
finishes it; a declined card changes nothing; only a billing admin's session gets a form."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from api.portal_card import live_stripe, stripe_js_page
from config.settings import Settings
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import created
from tests.workflows.test_portal_forms import _signed_in

CARD = {"_field": "card"}


async def _card(api: httpx.AsyncClient, ws: str) -> dict[str, object] | None:
    card: dict[str, object] | None = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()["card"]
    return card


async def _to_test_card_form(browser: httpx.AsyncClient, ws: str, csrf: str, emulator: str) -> httpx.Response:
    """ "Replace the card" on the page: a SetupIntent, then the emulator's form."""
    started = await browser.post(f"/billing/{ws}/card", data={**CARD, "csrf": csrf})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert re.match(rf"{re.escape(emulator)}/test-card/setup_intents/seti_\w+\?", location), location
    form = await browser.get(location)
    assert form.status_code == 200, form.text
    return form


async def _type_card(
    browser: httpx.AsyncClient, form: httpx.Response, number: str, outcome: str = "complete"
) -> httpx.Response:
    """Type ``number`` into the emulator's form (and answer 3-D Secure with ``outcome`` when
    it asks)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(str(form.url)).query).items()}
    answer = await browser.post(str(form.url).split("?")[0], data={**query, "number": number})
    if "Complete authentication" in answer.text:
        authenticate = str(form.url).split("?")[0] + "/authenticate"
        answer = await browser.post(authenticate, data={**query, "outcome": outcome})
    assert answer.status_code == 303, answer.text
    return await browser.get(answer.headers["location"])  # back to the page's return


async def test_an_admin_replaces_the_card_through_the_test_card_form(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    assert (await _card(api, ws) or {}).get("last4") == "4242"
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        page = await browser.get(f"/billing/{ws}")
        assert "Replace the card" in page.text
        form = await _to_test_card_form(browser, ws, csrf, driver.payments.url)
        back = await _type_card(browser, form, "4000 0025 0000 3155")  # asks for 3-D Secure
        assert back.status_code == 303, back.text
        shown = await browser.get(back.headers["location"])
        assert "Card saved: Visa ending in 3155" in shown.text
        assert re.search(r'id="card">Visa ending in 3155, expires 12/\d{4}<', shown.text), shown.text
    card = await _card(api, ws)
    assert card is not None
    assert (card["brand"], card["last4"], card["exp_month"]) == ("visa", "3155", 12)
    audit = await driver.rows(
        "SELECT actor, after FROM audit_log WHERE workspace_id = :ws AND action = 'set_payment_method'"
    )
    assert [(r["actor"], r["after"]["last4"]) for r in audit] == [("alice", "3155")]


@pytest.mark.parametrize(
    ("number", "outcome"),
    [("4000 0000 0000 9995", "complete"), ("4000 0025 0000 3155", "fail")],
    ids=["insufficient-funds", "authentication-failed"],
)
async def test_a_declined_card_shows_the_domains_message_beside_the_card_and_changes_nothing(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, number: str, outcome: str
) -> None:
    ws = await created(api, driver)
    before = await _card(api, ws)
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        form = await _to_test_card_form(browser, ws, csrf, driver.payments.url)
        refused = await _type_card(browser, form, number, outcome)
        assert refused.status_code == 409, refused.text
        found = re.search(r'<p class="error" role="alert" id="error-card">([^<]+)</p>', refused.text)
        assert found, refused.text
        assert "the card was not saved (the card was declined" in found.group(1)
        assert "nothing changed" in found.group(1)
    assert await _card(api, ws) == before
    audit = "SELECT 1 FROM audit_log WHERE workspace_id = :ws AND action = 'set_payment_method'"
    assert await driver.rows(audit) == []


async def test_a_member_sees_the_card_but_no_form_and_is_refused(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    async with _signed_in(api, api_server, ws, "bob") as (browser, csrf):
        page = await browser.get(f"/billing/{ws}")
        assert 'id="card">Visa ending in 4242' in page.text
        assert 'id="card-form"' not in page.text
        refused = await browser.post(f"/billing/{ws}/card", data={**CARD, "csrf": csrf})
        assert refused.status_code == 403
        assert 'id="error-card"' in refused.text


async def test_a_card_form_without_the_sessions_csrf_token_or_return_state_is_refused(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    before = await _card(api, ws)
    async with _signed_in(api, api_server, ws, "alice") as (browser, csrf):
        forged = await browser.post(f"/billing/{ws}/card", data={**CARD, "csrf": "not-the-token"})
        assert forged.status_code == 403
        # A confirmed SetupIntent is finished only by a return carrying its session's state.
        form = await _to_test_card_form(browser, ws, csrf, driver.payments.url)
        query = {k: v[0] for k, v in parse_qs(urlsplit(str(form.url)).query).items()}
        typed = await browser.post(str(form.url).split("?")[0], data={**query, "number": "4242424242424242"})
        back = urlsplit(typed.headers["location"])
        forged_back = back._replace(query=re.sub(r"state=\w+", "state=0", back.query)).geturl()
        assert (await browser.get(forged_back)).status_code == 403
    async with httpx.AsyncClient(base_url=api_server.url) as stranger:  # no session cookie at all
        assert (await stranger.get(back.geturl())).status_code == 403
    assert await _card(api, ws) == before


def test_against_real_stripe_the_page_confirms_with_stripe_js_and_the_publishable_key() -> None:
    emulated = Settings(stripe_api_base="http://127.0.0.1:12111")
    live = Settings(stripe_api_base="https://api.stripe.com", stripe_api_key=SecretStr("sk_test_x"))
    assert (live_stripe(emulated), live_stripe(live), live_stripe(Settings())) == (False, True, True)
    html = stripe_js_page(
        "pk_test_123", "seti_1_secret_2", "https://billing.test/billing/ws/card/return?state=s", "ws"
    )
    assert '<script src="https://js.stripe.com/v3/"></script>' in html
    assert 'Stripe("pk_test_123")' in html
    assert 'confirmCardSetup("seti_1_secret_2"' in html
    # Stripe.js is the only script from elsewhere: the page still works offline otherwise.
    assert re.findall(r'<script src="([^"]+)"', html) == ["https://js.stripe.com/v3/"]

"""The billing page in a real Chromium, as an org admin and a member use it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import expect

from api.portal_format import day, money, when
from tests.workflows.browser import chromium, screenshot_dir, shot
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created


async def _link(api: httpx.AsyncClient, ws: str, user: str) -> str:
    answer = await api.post(f"/v1/workspaces/{ws}/portal-sessions", json={"user": user})
    assert answer.status_code == 201, answer.text
    url: str = answer.json()["url"]
    return url


async def test_an_admin_assigns_an_annual_max_seat_opens_the_invoice_cancels_and_reactivates(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, tmp_path: Path
) -> None:
    ws = await created(api, driver)
    seat = {"user": "alice", "type": "max", "cycle": "annual"}
    quote = (await api.post(f"/v1/workspaces/{ws}/seats/preview", json=seat, headers=as_user("alice"))).json()
    expected = money(sum(i["total"] for i in quote["invoices"]) + quote["draft_change"], "usd")
    images = screenshot_dir(tmp_path)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(await _link(api, ws, "alice"))
        await expect(page.get_by_text("Signed in as alice")).to_be_visible()

        # Seats: Max, annually, with the exact charge before anything happens.
        await page.get_by_label("Member", exact=True).first.fill("alice")
        await page.locator("#seat-type").select_option("max")
        await page.locator("#seat-cycle").select_option("annual")
        await page.get_by_role("button", name="See the charge").click()
        await expect(page.locator("#due-now")).to_contain_text(expected)
        await shot(page, images, "billing-page-seat-preview", "#confirm")
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.locator("#notice")).to_contain_text("alice has a max seat")
        await expect(page.locator("#seats")).to_contain_text("Max")

        # The checkout draft posts after its window; the card pays it; the PDF opens.
        await driver.advance_to(await driver.now() + timedelta(hours=2))
        await driver.pay_all()
        await page.reload()
        row = page.locator("#invoices tbody tr").first
        await expect(row).to_contain_text("Paid")
        await shot(page, images, "billing-page")
        pdf_url = await row.get_by_role("link").get_attribute("href")
        assert pdf_url is not None
        pdf = await page.request.get(pdf_url)
        assert pdf.ok
        assert pdf.headers["content-type"].startswith("application/pdf")

        # Tax IDs, by keyboard: a garbage VAT number is refused beside the field, a good one is added.
        await page.locator("#tax-type").select_option("eu_vat")
        await page.locator("#tax-value").fill("garbage")
        await page.locator("#tax-value").press("Enter")
        await expect(page.locator("#error-tax_ids")).to_be_visible()
        await expect(page.locator("#tax-value")).to_have_attribute("aria-invalid", "true")
        await expect(page.locator("#tax-ids")).to_have_text("none")
        await page.locator("#tax-type").select_option("eu_vat")
        await page.locator("#tax-value").fill("DE123456789")
        await page.locator("#tax-value").press("Enter")
        await expect(page.locator("#tax-ids")).to_have_text("EU VAT DE123456789")
        await shot(page, images, "billing-page-tax-ids", "#billing-information")

        # Cancel: the date and what the revert will do, then keep it after all.
        await page.get_by_label("Why are you cancelling? (optional)").fill("budget")
        await page.get_by_role("button", name="Cancel the subscription…").click()
        await expect(page.locator("#revert-summary")).to_contain_text("Who stays: alice")
        await expect(page.locator("#effective-at")).to_be_visible()
        await shot(page, images, "billing-page-cancel-preview", "#confirm")
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.locator("#cancel-banner")).to_be_visible()
        await page.get_by_role("button", name="Keep the subscription").click()
        await expect(page.locator("#notice")).to_contain_text("active again")
        await expect(page.locator("#cancel-banner")).to_have_count(0)

        # The narrow-screen layout.
        await page.set_viewport_size({"width": 400, "height": 900})
        await shot(page, images, "billing-page-narrow")
    assert (await driver.overview()).status == "active"


async def test_a_member_sees_everything_and_can_change_nothing(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, tmp_path: Path
) -> None:
    ws = await created(api, driver)
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(await _link(api, ws, "bob"))
        await expect(page.locator("#read-only")).to_be_visible()
        for name in ("See the charge", "Save", "Add tax ID", "Delete everything"):
            await expect(page.get_by_role("button", name=name)).to_be_disabled()
        await shot(page, screenshot_dir(tmp_path), "billing-page-read-only")


async def test_an_expired_or_reused_link_is_a_403_page(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver
) -> None:
    ws = await created(api, driver)
    link = await _link(api, ws, "alice")
    async with chromium() as browser:
        page = await browser.new_page()
        first = await page.goto(link)
        assert first is not None
        assert first.ok
        other = await browser.new_page()  # another browser tab following the same link
        again = await other.goto(link)
        assert again is not None
        assert again.status == 403
        await expect(other.get_by_role("alert")).to_contain_text("used already")


async def test_an_admin_adds_a_card_through_the_test_card_form(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, tmp_path: Path
) -> None:
    ws = await created(api, driver)
    images = screenshot_dir(tmp_path)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(await _link(api, ws, "alice"))
        await expect(page.locator("#card")).to_contain_text("Visa ending in 4242")

        # A declined card: the emulator's form (Stripe.js's stand-in) and back, nothing changed.
        await page.get_by_role("button", name="Replace the card").click()
        await expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
        await page.get_by_label("Card number").fill("4000 0000 0000 9995")
        await page.get_by_role("button", name="Save card").click()
        await expect(page.locator("#error-card")).to_contain_text("the card was declined")
        await expect(page.locator("#card")).to_contain_text("Visa ending in 4242")

        # A card that asks for 3-D Secure: authenticated, it becomes the card on file.
        await page.get_by_role("button", name="Replace the card").click()
        await page.get_by_label("Card number").fill("4000 0025 0000 3155")
        await shot(page, images, "billing-card-test-form")
        await page.get_by_role("button", name="Save card").click()
        await page.get_by_role("button", name="Complete authentication").click()
        await expect(page.locator("#notice")).to_contain_text("Card saved: Visa ending in 3155")
        await expect(page.locator("#card")).to_contain_text("Visa ending in 3155, expires 12/")
        await shot(page, images, "billing-card", "#billing-information")
    card = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()["card"]
    assert card["last4"] == "3155"


@pytest.mark.parametrize("api_server", ["credits"], indirect=True)
async def test_an_admin_picks_a_plan_during_a_trial(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, tmp_path: Path
) -> None:
    # The credits catalog: a trial that starts with no plan chosen (SPEC §1.2, §2).
    ws = await created(api, driver, roles=("org_admin", "viewer"))
    trial = (await driver.state()).trial
    assert trial is not None
    trial_end = trial.ends_at
    images = screenshot_dir(tmp_path)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(await _link(api, ws, "alice"))
        await expect(page.locator("#trial-banner")).to_contain_text("No plan selected")
        await page.get_by_role("button", name="Choose the Solo plan").click()
        await expect(page.locator("#due-now")).to_contain_text(money(0, "usd"))  # a trial is free
        await expect(page.locator("#effective-at")).to_contain_text(when(trial_end))
        await shot(page, images, "billing-page-trial-preview", "#confirm")
        await page.get_by_role("button", name="Confirm").click()
        await expect(page.locator("#notice")).to_contain_text("The solo plan is chosen")
        banner = f"The solo plan and billing begin on {trial_end.date().isoformat()}."
        await expect(page.locator("#trial-banner")).to_contain_text(banner)
        solo = page.locator('[data-plan="solo"]')
        await expect(solo).to_contain_text(f"chosen: begins {day(trial_end)}")
        await expect(solo.get_by_role("button")).to_have_count(0)
        await shot(page, images, "billing-page-trial")
    state = await driver.state()
    assert state.trial is not None
    assert (state.trial.selected_plan, state.status, state.plan) == ("solo", "trialing", None)


@pytest.mark.parametrize("user", ["alice", "bob"], ids=["billing admin", "read-only member"])
async def test_the_page_passes_axe_at_both_widths_and_works_by_keyboard(
    api: httpx.AsyncClient, api_server: ApiServer, driver: Driver, user: str
) -> None:
    """axe-core (WCAG 2.1 A/AA rules: labels, names, contrast, landmarks...) finds nothing on
    the wide and the narrow layout, and Tab alone reaches the seat form's button."""
    ws = await created(api, driver)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(await _link(api, ws, user))
        for width in (1280, 400):
            await page.set_viewport_size({"width": width, "height": 900})
            found = await Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa", "wcag21aa"]})
            assert found.violations_count == 0, f"at {width}px:\n{found.generate_report()}"
        if user == "alice":
            await page.set_viewport_size({"width": 1280, "height": 900})
            button = page.get_by_role("button", name="See the charge")
            for _ in range(60):
                await page.keyboard.press("Tab")
                if await button.evaluate("b => b === document.activeElement"):
                    break
            else:
                raise AssertionError("Tab never reached the seat form's button")

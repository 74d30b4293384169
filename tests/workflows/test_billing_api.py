"""The billing endpoints against the real stack: PostgreSQL, Temporal (time-skipping), the
Stripe emulator, the worker; real HTTP to the API on uvicorn."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from billing import AssignSeat, Cancel
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _setup


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _posted_without_card(driver: Driver) -> str:
    ws = f"api-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"), card=None)
    seat = AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro")
    await driver.update(seat)
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    return ws


async def test_a_card_added_during_dunning_pays_the_open_invoice_now(
    api: httpx.AsyncClient, driver: Driver
) -> None:
    ws = await _posted_without_card(driver)
    [invoice] = (await api.get(f"/v1/workspaces/{ws}/invoices")).json()
    assert (invoice["status"], invoice["attempt_count"]) == ("Unpaid", 1)
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert details["card"] is None
    assert "no payment method: invoices cannot be collected" in details["warnings"]

    admin = {"X-Acting-User": "alice"}
    started = await api.post(
        f"/v1/workspaces/{ws}/payment-method/setup", headers=admin | {"Idempotency-Key": "k1"}
    )
    assert started.status_code == 200, started.text
    again = await api.post(
        f"/v1/workspaces/{ws}/payment-method/setup", headers=admin | {"Idempotency-Key": "k1"}
    )
    assert again.json() == started.json()  # the same SetupIntent
    intent = started.json()["setup_intent_id"]
    # The browser (Stripe.js) confirms the SetupIntent with the customer's card.
    driver.payments.raw().v1.setup_intents.confirm(intent, {"payment_method": "pm_card_visa"})
    card = await api.post(
        f"/v1/workspaces/{ws}/payment-method", json={"setup_intent_id": intent}, headers=admin
    )
    assert card.status_code == 200, card.text
    assert (card.json()["brand"], card.json()["last4"]) == ("visa", "4242")

    # No need to wait for the day-3 retry: the new card is tried at once.
    state = await driver.wait_for(lambda s: s.invoices[0].status == "paid", "paid after the card change")
    assert state.status == "active"
    [invoice] = (await api.get(f"/v1/workspaces/{ws}/invoices")).json()
    assert (invoice["status"], invoice["attempt_count"]) == ("Paid", 2)
    async with httpx.AsyncClient() as browser:
        pdf = await browser.get(invoice["pdf_url"])
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert list(driver.payments.charges(ws).values()) == [1]

    page = (await api.get(f"/v1/workspaces/{ws}/overview")).json()
    assert (page["subscription"]["status"], page["subscription"]["plan"]) == ("active", "business")
    assert [(i["number"], i["status"], i["pdf_url"]) for i in page["invoices"]] == [
        (invoice["number"], "Paid", invoice["pdf_url"])
    ]
    assert page["billing"]["card"]["last4"] == "4242"


async def test_billing_details_and_the_missing_tax_id_warning(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = f"api-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    body = {
        "billing_email": "accounts@acme.test",
        "company_name": "Acme GmbH",
        "purchasing_as_business": True,
        "country": "DE",
    }
    admin = {"X-Acting-User": "alice"}
    refused = await api.put(
        f"/v1/workspaces/{ws}/billing-details", json=body, headers={"X-Acting-User": "carol"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    saved = await api.put(f"/v1/workspaces/{ws}/billing-details", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    assert saved.json()["warnings"] == ["a business purchasing from DE must add a tax ID"]
    assert saved.json()["card"]["last4"] == "4242"
    tax_id = {"type": "eu_vat", "value": "DE123456789"}
    added = await api.post(f"/v1/workspaces/{ws}/tax-ids", json=tax_id, headers=admin)
    assert added.status_code == 201, added.text
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert (details["warnings"], [t["value"] for t in details["tax_ids"]]) == ([], ["DE123456789"])
    assert [t["id"] for t in (await api.get(f"/v1/workspaces/{ws}/tax-ids")).json()] == [added.json()["id"]]
    removed = await api.delete(f"/v1/workspaces/{ws}/tax-ids/{added.json()['id']}", headers=admin)
    assert removed.status_code == 204
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert details["tax_ids"] == []
    assert len(details["warnings"]) == 1


async def test_the_billing_contact_has_one_home(api: httpx.AsyncClient, driver: Driver) -> None:
    """The contact given at registration is the billing details' contact, and changing it
    there changes where billing e-mail goes (it used to go to the registration's)."""
    ws = f"api-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    details = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    assert details["billing_email"] == "billing@acme.test"
    admin = {"X-Acting-User": "alice"}
    body = {"billing_email": "accounts@acme.test"}
    saved = await api.put(f"/v1/workspaces/{ws}/billing-details", json=body, headers=admin)
    assert saved.status_code == 200, saved.text
    seat = AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro")
    await driver.update(seat)
    await driver.update(Cancel(request_id=request_id(), actor="alice", reason="testing"))
    sent = await driver.rows(
        "SELECT to_address FROM email_outbox WHERE workspace_id = :ws AND template = 'cancel_requested'"
    )
    assert [r["to_address"] for r in sent] == ["accounts@acme.test"]
    overview = (await api.get(f"/v1/workspaces/{ws}/overview")).json()
    assert overview["billing"]["billing_email"] == "accounts@acme.test"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("put", "billing-details", {"billing_email": "not-an-email"}, 422, "invalid_argument"),
        ("put", "billing-details", {"country": "Germany"}, 422, "invalid_argument"),
        ("put", "billing-details", {"unknown": 1}, 422, "invalid_argument"),
        ("post", "tax-ids", {"type": "eu_vat", "value": "nonsense"}, 400, "http_error"),
        ("post", "payment-method", {"setup_intent_id": "seti_unknown"}, 400, "http_error"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    api: httpx.AsyncClient,
    driver: Driver,
    method: str,
    path: str,
    body: dict[str, object],
    status: int,
    code: str,
) -> None:
    ws = f"api-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    before = (await api.get(f"/v1/workspaces/{ws}/billing-details")).json()
    answer = await api.request(
        method, f"/v1/workspaces/{ws}/{path}", json=body, headers={"X-Acting-User": "alice"}
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert (await api.get(f"/v1/workspaces/{ws}/billing-details")).json() == before


async def test_unknown_workspace_and_missing_or_wrong_tokens(api: httpx.AsyncClient) -> None:
    missing = await api.get("/v1/workspaces/nope/invoices")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Bearer tnr_wrong"},
        {"Authorization": "Basic x"},
    ):
        refused = await api.get("/v1/workspaces/nope/invoices", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")

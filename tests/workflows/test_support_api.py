"""The support endpoints over real HTTP with a staff token: extend a trial, set a contract,
void an invoice being dunned; each audited under the staff login."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.test_credits_lifecycle import _start, _t
from tests.workflows.test_support_cli import _paying_workspace


@pytest.fixture
async def staff(api_server: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client presenting the staff token, acting as support login "sam"."""
    headers = {"Authorization": f"Bearer {api_server.staff_token}", "X-Acting-User": "sam"}
    async with httpx.AsyncClient(base_url=api_server.url, headers=headers, timeout=90) as client:
        yield client


async def _audit(driver: Driver, action: str) -> list[dict[str, object]]:
    return await driver.rows(
        f"SELECT actor, reason FROM audit_log WHERE workspace_id = :ws AND action = '{action}'"
    )


async def test_staff_extend_a_trial_then_set_a_contract(staff: httpx.AsyncClient, driver: Driver) -> None:
    trial_end = await _start(driver, _t("2026-03-10T00:00:00"))
    ws = driver.workspace_id
    extended = await staff.post(
        f"/v1/support/workspaces/{ws}/extend-trial", json={"days": 7, "reason": "evaluation took longer"}
    )
    assert (extended.status_code, extended.json()["status"]) == (200, "trialing"), extended.text
    trial = (await driver.state()).trial
    assert trial is not None
    assert trial.ends_at == trial_end + timedelta(days=7)
    assert await _audit(driver, "extend_trial") == [
        {"actor": "staff:sam", "reason": "evaluation took longer"}
    ]

    now = await driver.now()
    contract = {
        "plan": "pro",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=365)).isoformat(),
        "price": 1_200_000,
        "credits": 100_000,
        "credit_overage_rate": 2,
        "seat_unit_price": 4_000,
    }
    bad = await staff.put(f"/v1/support/workspaces/{ws}/contract", json=contract | {"plan": "solo"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_argument")  # solo is self-serve
    assert (await driver.state()).contract is None
    set_ = await staff.put(f"/v1/support/workspaces/{ws}/contract", json=contract)
    assert set_.status_code == 200, set_.text
    assert (set_.json()["status"], set_.json()["plan"]) == ("active", "pro")
    state = await driver.state()
    assert state.contract is not None
    assert (state.contract.price, state.contract.credits) == (1_200_000, 100_000)
    assert [a["actor"] for a in await _audit(driver, "set_contract")] == ["staff:sam"]


async def test_staff_void_an_invoice_being_dunned(staff: httpx.AsyncClient, driver: Driver) -> None:
    ws = await _paying_workspace(driver, "pm_card_chargeCustomerFail")
    number = (await driver.state()).invoices[0].number
    voided = await staff.post(f"/v1/support/invoices/{number}/void", json={"reason": "goodwill"})
    assert (voided.status_code, voided.json()) == (200, {"invoice": number, "status": "void"}), voided.text
    await driver.wait_for(lambda s: s.invoices[0].status == "void", "void in the subscription")
    assert await _audit(driver, "void_invoice") == [{"actor": "staff:sam", "reason": "goodwill"}]
    again = await staff.post(f"/v1/support/invoices/{number}/void", json={"reason": "twice"})
    assert (again.status_code, again.json()["code"]) == (409, "invoice_not_open")
    assert [i["status"] for i in driver.payments.stripe_invoices(ws)] == ["void"]


async def test_more_contract_seats_are_requested_then_approved(
    staff: httpx.AsyncClient, api: httpx.AsyncClient, driver: Driver
) -> None:
    await _start(driver, _t("2026-03-10T00:00:00"))
    ws = driver.workspace_id
    now = await driver.now()
    contract = {
        "plan": "pro",
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(days=365)).isoformat(),
        "price": 1_200_000,
        "seat_unit_price": 4_000,
    }
    assert (await staff.put(f"/v1/support/workspaces/{ws}/contract", json=contract)).status_code == 200
    asked = await api.post(
        f"/v1/workspaces/{ws}/seat-requests",
        json={"quantity": 3, "note": "new team"},
        headers={"X-Acting-User": "alice", "Idempotency-Key": "more-seats-1"},
    )
    assert asked.status_code == 200, asked.text
    request = asked.json()["request_id"]
    assert request == "more-seats-1"
    page = (await api.get(f"/v1/workspaces/{ws}/overview")).json()["subscription"]
    assert [(r["quantity"], r["status"]) for r in page["seat_requests"]] == [(3, "pending")]

    approve = f"/v1/support/workspaces/{ws}/seat-requests/{request}/approve"
    approved = await staff.post(approve)
    assert approved.status_code == 200, approved.text
    await driver.advance_to(now + timedelta(hours=2))  # the draft window closes: posted
    state = await driver.wait_for(lambda s: len(s.invoices) >= 2, "the seats invoiced")
    lines = await driver.rows(
        "SELECT kind, quantity, unit_amount, amount FROM invoice_lines l "
        "JOIN invoices i ON i.number = l.invoice_number WHERE i.workspace_id = :ws AND kind = 'seat'"
    )
    assert lines == [{"kind": "seat", "quantity": 3, "unit_amount": 4_000, "amount": 12_000}]
    assert state.seat_requests[0].approved_by == "staff:sam"
    twice = await staff.post(approve)
    assert (twice.status_code, twice.json()["code"]) == (404, "seat_request_not_found")


async def test_a_scheduled_contract_refuses_self_serve_changes_over_http(
    staff: httpx.AsyncClient, api: httpx.AsyncClient, driver: Driver
) -> None:
    """409 ``contract_scheduled`` with the contract's plan and start, and nothing changed."""
    trial_end = await _start(driver, _t("2026-03-10T00:00:00"))
    ws = driver.workspace_id
    admin = {"X-Acting-User": "alice"}
    chosen = await api.put(f"/v1/workspaces/{ws}/plan", json={"plan": "solo"}, headers=admin)
    assert chosen.status_code == 200, chosen.text
    await driver.advance_to(trial_end + timedelta(hours=1))
    await driver.wait_for(lambda s: s.status == "active", "billing from the trial end")
    period_end = (await driver.state()).period_end
    assert period_end is not None
    ends = period_end + timedelta(days=365)
    contract = {
        "plan": "pro",
        "starts_at": period_end.isoformat(),
        "ends_at": ends.isoformat(),
        "price": 500_000,
    }
    assert (await staff.put(f"/v1/support/workspaces/{ws}/contract", json=contract)).status_code == 200
    before = await driver.state()
    refused = await api.put(f"/v1/workspaces/{ws}/plan", json={"plan": "starter"}, headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "contract_scheduled"), refused.text
    assert refused.json()["details"] == {"plan": "pro", "starts_at": period_end.isoformat()}
    cancel = await api.post(f"/v1/workspaces/{ws}/cancel", json={"reason": "x"}, headers=admin)
    assert (cancel.status_code, cancel.json()["code"]) == (409, "contract_scheduled")
    assert await driver.state() == before

"""The support commands of `tenure`, run as processes against the test stack."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from billing import AssignSeat, SelectPlan
from devstack.postgres import EmbeddedPostgres
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_credits_lifecycle import _setup as _credits_setup
from tests.workflows.test_credits_lifecycle import _start as _start_trial
from tests.workflows.test_revert import _setup


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _tenure(driver: Driver, postgres: EmbeddedPostgres, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "TENURE_DATABASE_URL": postgres.url,
        "TEMPORAL_ADDRESS": driver.env.client.service_client.config.target_host,
        "TENURE_TASK_QUEUE": driver.task_queue,
        "TENURE_STRIPE_TASK_QUEUE": driver.stripe_task_queue,
        "COLUMNS": "200",
    }
    argv = [sys.executable, "-m", "cli.main", *args]
    return await asyncio.to_thread(subprocess.run, argv, env=env, capture_output=True, text=True, timeout=120)


async def _paying_workspace(driver: Driver, card: str) -> str:
    ws = f"cli-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"), card=card)
    await driver.update(AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro"))
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    return ws


async def test_show_invoices_cancel_reactivate(driver: Driver, postgres: EmbeddedPostgres) -> None:
    ws = await _paying_workspace(driver, "pm_card_visa")
    await driver.pay_all()
    shown = await _tenure(driver, postgres, "show", ws, "--json")
    assert shown.returncode == 0, shown.stderr
    page = json.loads(shown.stdout)["subscription"]
    assert (page["status"], page["paid_seat_count"]) == ("active", 1)
    table = await _tenure(driver, postgres, "show", ws)
    assert "status active" in table.stdout
    assert "recent invoices" in table.stdout

    listed = await _tenure(driver, postgres, "invoices", ws, "--json")
    [invoice] = json.loads(listed.stdout)
    assert (invoice["status"], invoice["attempt_count"]) == ("paid", 1)
    assert invoice["pdf_url"].startswith(driver.payments.url)

    cancelled = await _tenure(driver, postgres, "cancel", ws, "--reason", "asked by phone", "--staff", "sam")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancels at 2026-10-03" in cancelled.stdout
    state = await driver.state()
    assert (state.status, state.cancel_actor, state.cancel_reason) == (
        "canceling",
        "staff:sam",
        "asked by phone",
    )
    back = await _tenure(driver, postgres, "reactivate", ws, "--staff", "sam")
    assert (back.returncode, back.stdout.strip()) == (0, f"{ws} is active")

    refused = await _tenure(driver, postgres, "extend-trial", ws, "--days", "3", "--staff", "sam")
    assert refused.returncode == 4
    assert "not_allowed_in_status" in refused.stderr
    missing = await _tenure(driver, postgres, "show", "no-such-workspace")
    assert (missing.returncode, "not_found" in missing.stderr) == (4, True)


async def test_void_an_invoice_being_dunned(driver: Driver, postgres: EmbeddedPostgres) -> None:
    ws = await _paying_workspace(driver, "pm_card_chargeCustomerFail")
    number = (await driver.state()).invoices[0].number
    voided = await _tenure(driver, postgres, "void", number, "--staff", "sam")
    assert voided.returncode == 0, voided.stderr
    await driver.wait_for(lambda s: s.invoices[0].status == "void", "void in the subscription")
    again = await _tenure(driver, postgres, "void", number, "--staff", "sam")
    assert again.returncode == 4
    assert "invoice_not_open" in again.stderr
    assert [i["status"] for i in driver.payments.stripe_invoices(ws)] == ["void"]


async def test_contract_set(driver: Driver, postgres: EmbeddedPostgres) -> None:
    await _start_trial(driver, _t("2026-03-10T00:00:00"))
    ws = driver.workspace_id
    now = await driver.now()
    dates = ["--starts", now.isoformat(), "--ends", (now + timedelta(days=365)).isoformat()]
    base = ["contract", "set", ws, *dates, "--price", "1200000", "--staff", "sam"]
    bad_date = await _tenure(driver, postgres, *base, "--plan", "pro", "--starts", "soon")
    assert (bad_date.returncode, "--starts" in bad_date.stderr) == (2, True)
    self_serve = await _tenure(driver, postgres, *base, "--plan", "solo")
    assert (self_serve.returncode, "invalid_argument" in self_serve.stderr) == (4, True)
    assert (await driver.state()).contract is None

    done = await _tenure(driver, postgres, *base, "--plan", "pro", "--credits", "100000", "--json")
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout)["status"], json.loads(done.stdout)["plan"]) == ("active", "pro")
    contract = (await driver.state()).contract
    assert contract is not None
    assert (contract.price, contract.credits, contract.plan) == (1_200_000, 100_000, "pro")


async def test_cancel_reports_the_engines_refusal_at_once(driver: Driver, postgres: EmbeddedPostgres) -> None:
    """`tenure cancel` is the Update: a free workspace's refusal comes back with its code,
    exit 4, without waiting for a status that will never come; nothing changes."""
    ws = f"cli-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    before = await driver.state()
    refused = await _tenure(driver, postgres, "cancel", ws, "--reason", "asked by phone", "--staff", "sam")
    assert refused.returncode == 4, refused.stderr
    assert "not_allowed_in_status" in refused.stderr
    assert await driver.state() == before


async def test_cancel_a_past_due_subscription(driver: Driver, postgres: EmbeddedPostgres) -> None:
    """A past-due subscription stays past_due when cancelled: `tenure cancel` reports the
    recorded cancellation from the Update's result (no wait for a "canceling" status)."""
    ws = f"cli-{uuid.uuid4().hex[:8]}"
    await driver.start(
        _credits_setup(ws), "credits", _t("2026-03-10T09:00:00"), card="pm_card_chargeCustomerFail"
    )
    await driver.update(SelectPlan(request_id=request_id(), actor="alice", plan="starter"))
    # The first invoice (the trial's month, in arrears on May 1) fails on every retry: overdue
    # a week later, and the catalog keeps the subscription past_due (final_failure).
    await driver.advance_to(_t("2026-05-01T06:00:00"))
    await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    await driver.advance_to(_t("2026-05-09T06:00:00"))
    await driver.wait_for(lambda s: s.status == "past_due", "past due")
    cancelled = await _tenure(driver, postgres, "cancel", ws, "--reason", "asked by phone", "--staff", "sam")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancels at" in cancelled.stdout
    state = await driver.state()
    assert (state.status, state.cancel_actor, state.cancel_reason) == (
        "past_due",
        "staff:sam",
        "asked by phone",
    )
    assert state.cancel_at is not None

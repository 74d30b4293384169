"""The whole Stripe path with nothing standing in: the emulator signs and delivers invoice
events over HTTP → the API stores each once and signals the real invoice workflow → it
re-reads the invoice from Stripe → the subscription's invoice is paid.

The invoice is paid out of band (in Stripe, not by our collection) during dunning, so only
the webhook can tell Tenure. Three emulator endpoints make the deliveries Stripe promises
nothing about: ``invoice.paid`` is delivered twice (two endpoints at once), and the first
attempt's ``invoice.payment_failed`` goes to a second API replica that is down until the
invoice is settled, so the emulator's retries bring it late, after ``paid``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from config.settings import Settings
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import BackgroundServer, EmulatorServer
from tests.workflows.driver import Driver
from tests.workflows.test_collection import _events, _invoice_row, _invoice_status, _one_pro_seat

SECRET = "whsec_stripe_path"


def _api(postgres: EmbeddedPostgres, env: WorkflowEnvironment, driver: Driver, port: int) -> BackgroundServer:
    settings = Settings(
        database_url=postgres.url,
        temporal_address=env.client.service_client.config.target_host,
        task_queue=driver.task_queue,
        stripe_task_queue=driver.stripe_task_queue,
        stripe_webhook_secret=SecretStr(SECRET),
    )
    return BackgroundServer(create_app(settings), port=port)


@pytest.fixture
async def emulator_control(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's control API; the endpoints a test adds are removed afterwards."""
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as control:
        yield control
        for endpoint in (await control.get("/_emulator/webhooks")).json()["data"]:
            if endpoint["secret"] == SECRET:
                await control.delete(f"/_emulator/webhooks/{endpoint['id']}")


async def _endpoint(control: httpx.AsyncClient, url: str, events: list[str]) -> str:
    added = await control.post(
        "/_emulator/webhooks", json={"url": f"{url}/v1/stripe/webhook", "secret": SECRET, "events": events}
    )
    assert added.status_code == 200, added.text
    endpoint_id: str = added.json()["id"]
    return endpoint_id


async def _deliveries(control: httpx.AsyncClient, endpoint_id: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (
        await control.get("/_emulator/deliveries", params={"endpoint_id": endpoint_id})
    ).json()["data"]
    return rows


async def _settled(control: httpx.AsyncClient, endpoint_id: str, count: int) -> list[dict[str, Any]]:
    """The endpoint's deliveries once ``count`` of them succeeded (the emulator retries)."""
    for _ in range(300):
        rows = await _deliveries(control, endpoint_id)
        if sum(d["status"] == "succeeded" for d in rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"deliveries not done: {await _deliveries(control, endpoint_id)}")


async def test_signed_webhooks_settle_the_subscription_once_through_duplicates_and_late_ones(
    driver: Driver,
    postgres: EmbeddedPostgres,
    time_skipping: WorkflowEnvironment,
    emulator_control: httpx.AsyncClient,
) -> None:
    late_port = free_port()
    with _api(postgres, time_skipping, driver, 0) as api:
        main = await _endpoint(
            emulator_control, api.url, ["invoice.created", "invoice.finalized", "invoice.paid"]
        )
        twin = await _endpoint(emulator_control, api.url, ["invoice.paid"])
        late = await _endpoint(emulator_control, f"http://127.0.0.1:{late_port}", ["invoice.payment_failed"])

        ws = await _one_pro_seat(driver, "pm_card_chargeCustomerFail")
        state = await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
        assert _invoice_status(state) == "unpaid"
        for _ in range(100):  # the first attempt is declined at Stripe
            if (await _invoice_row(driver))["attempt_count"] == 1:
                break
            await asyncio.sleep(0.1)
        assert (await _invoice_row(driver))["attempt_count"] == 1
        await _settled(emulator_control, main, 2)  # created, finalized: told, the invoice stays open
        assert _invoice_status(await driver.state()) == "unpaid"

        # Paid in Stripe by other means: nothing but the webhook tells the collection.
        [invoice] = driver.payments.stripe_invoices(ws)
        driver.payments.raw().v1.invoices.pay(str(invoice["id"]), {"paid_out_of_band": True})
        state = await driver.wait_for(lambda s: _invoice_status(s) == "paid", "paid through the webhook")
        assert state.status == "active"
        await _settled(emulator_control, twin, 1)
        [paid_main] = [
            d for d in await _settled(emulator_control, main, 3) if d["event_type"] == "invoice.paid"
        ]
        [paid_twin] = await _deliveries(emulator_control, twin)
        assert paid_main["event_id"] == paid_twin["event_id"]  # the same event, delivered twice

        # The failure of the first attempt arrives now, after paid: stored, nothing to tell.
        assert [d["status"] for d in await _deliveries(emulator_control, late)] == ["pending"]
        with _api(postgres, time_skipping, driver, late_port):
            [failed] = await _settled(emulator_control, late, 1)
        assert failed["attempts"] > 1  # refused while that replica was down, then retried

    rows = await driver.rows(
        "SELECT id, type, status FROM stripe_events WHERE payload->'data'->'object'->'metadata'->>'number'"
        f" = '{state.invoices[0].number}' ORDER BY received_at"
    )
    statuses = {r["type"]: r["status"] for r in rows}
    assert len(rows) == len(statuses)  # one row per event, the paid one delivered twice
    assert statuses["invoice.paid"] == "applied"
    assert statuses["invoice.payment_failed"] == "ignored"  # its collection had closed
    assert {r["id"] for r in rows if r["type"] == "invoice.payment_failed"} == {failed["event_id"]}
    events = await _events(driver)
    assert (events.count("invoice_paid"), events.count("payment_failed")) == (1, 1)
    row = await _invoice_row(driver)
    assert (row["status"], row["attempt_count"]) == ("paid", 1)
    assert driver.payments.charges(ws) == {state.invoices[0].number: 1}
    assert _invoice_status(await driver.state()) == "paid"

"""Invoices collected through Stripe (the emulator), end to end from the subscription:
paid at once, dunned to the catalog's final rule, rescued by a new card, voided."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.worker import Replayer

from billing import AssignSeat, BillingState
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _setup
from worker.composition import WORKFLOWS, workflow_runner
from workflows.invoice import InvoiceWorkflow, StripeNotice, invoice_workflow_id


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _one_pro_seat(driver: Driver, card: str | None) -> str:
    """Checkout on Sep 3 with one pro seat; the invoice posts at the end of the draft window."""
    ws = f"pay-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", _t("2026-09-03T09:00:00"), card=card)
    seat = AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro")
    await driver.update(seat)
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    return ws


def _invoice_status(state: BillingState) -> str:
    return state.invoices[0].status


async def _events(driver: Driver) -> list[str]:
    rows = await driver.rows("SELECT event FROM subscription_events WHERE workspace_id = :ws ORDER BY at, id")
    return [r["event"] for r in rows]


async def _invoice_row(driver: Driver) -> dict[str, object]:
    [row] = await driver.rows(
        "SELECT status, attempt_count, total, hosted_invoice_url, invoice_pdf, last_error"
        " FROM invoices WHERE workspace_id = :ws"
    )
    return row


async def test_a_working_card_pays_the_invoice_once(driver: Driver) -> None:
    ws = await _one_pro_seat(driver, "pm_card_visa")
    [number] = await driver.pay_all()
    row = await _invoice_row(driver)
    assert (row["status"], row["attempt_count"]) == ("paid", 1)
    assert str(row["invoice_pdf"]).startswith(driver.payments.url)
    assert driver.payments.charges(ws) == {number: 1}
    [stripe_invoice] = driver.payments.stripe_invoices(ws)
    assert (stripe_invoice["status"], stripe_invoice["total"]) == ("paid", row["total"])
    assert "invoice_paid" in await _events(driver)
    assert (await driver.state()).status == "active"


async def test_a_failing_card_is_dunned_to_the_final_rule(driver: Driver) -> None:
    ws = await _one_pro_seat(driver, "pm_card_chargeCustomerFail")
    await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    assert (await _invoice_row(driver))["status"] == "unpaid"
    # Retries on days 3 and 5 fail; the subscription stays active meanwhile.
    await driver.advance_to(_t("2026-09-08T12:00:00"))
    state = await driver.state()
    assert (_invoice_status(state), state.status) == ("unpaid", "active")
    assert (await _invoice_row(driver))["attempt_count"] == 3
    assert (await _events(driver)).count("payment_failed") == 3
    # Day 7: the last retry fails, the invoice is Overdue, the seats catalog reverts to free.
    await driver.advance_to(_t("2026-09-10T12:00:00"))
    state = await driver.wait_for(lambda s: s.status == "free", "the final rule")
    assert _invoice_status(state) == "overdue"
    row = await _invoice_row(driver)
    assert (row["status"], row["attempt_count"]) == ("overdue", 4)
    assert str(row["last_error"]).startswith("generic_decline")  # Stripe's decline code
    events = await _events(driver)
    assert events.count("payment_failed") == 4
    assert {"invoice_overdue", "payment_final_failure", "reverted_to_free"} <= set(events)
    assert driver.payments.charges(ws) == {}


async def test_a_new_card_mid_dunning_pays_the_next_retry(driver: Driver) -> None:
    ws = await _one_pro_seat(driver, "pm_card_chargeCustomerFail")
    await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    await driver.advance_to(_t("2026-09-04T12:00:00"))
    assert (await _invoice_row(driver))["attempt_count"] == 1
    await driver.payments.give_card(ws, "pm_card_visa")
    await driver.advance_to(_t("2026-09-06T12:00:00"))  # the day-3 retry
    state = await driver.wait_for(lambda s: _invoice_status(s) == "paid", "paid by the new card")
    assert state.status == "active"
    row = await _invoice_row(driver)
    assert (row["status"], row["attempt_count"]) == ("paid", 2)
    assert list(driver.payments.charges(ws).values()) == [1]


async def test_a_voided_invoice_is_void_everywhere(driver: Driver) -> None:
    ws = await _one_pro_seat(driver, "pm_card_chargeCustomerFail")
    state = await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    number = state.invoices[0].number
    handle = driver.env.client.get_workflow_handle(invoice_workflow_id(number))
    await handle.signal(InvoiceWorkflow.void)
    assert await handle.result() == "void"
    state = await driver.wait_for(lambda s: _invoice_status(s) == "void", "void in the subscription")
    assert (await _invoice_row(driver))["status"] == "void"
    [stripe_invoice] = driver.payments.stripe_invoices(ws)
    assert stripe_invoice["status"] == "void"
    assert "invoice_voided" in await _events(driver)


async def test_webhooks_out_of_order_or_repeated_are_settled_by_stripe(driver: Driver) -> None:
    """Paid in Stripe outside our collection (e.g. by bank transfer) during dunning; then a
    stale ``payment_failed`` notice arrives before ``paid``, and ``paid`` twice: the workflow
    re-reads the invoice each time, so it settles as paid once, with no charge of ours."""
    ws = await _one_pro_seat(driver, "pm_card_chargeCustomerFail")
    state = await driver.wait_for(lambda s: bool(s.invoices), "the invoice posted")
    number = state.invoices[0].number
    [stripe_invoice] = driver.payments.stripe_invoices(ws)
    driver.payments.raw().v1.invoices.pay(str(stripe_invoice["id"]), {"paid_out_of_band": True})
    handle = driver.env.client.get_workflow_handle(invoice_workflow_id(number))
    for event_id, kind in [
        ("evt_stale_failure", "invoice.payment_failed"),
        ("evt_paid", "invoice.paid"),
        ("evt_paid", "invoice.paid"),
    ]:
        # Once settled the workflow is closed: the webhook endpoint then keeps the event as
        # "ignored" (tests/integration/test_stripe_webhook.py); here the signal just fails.
        with contextlib.suppress(RPCError):
            await handle.signal(InvoiceWorkflow.stripe_notice, StripeNotice(event_id=event_id, type=kind))
    assert await handle.result() == "paid"
    state = await driver.wait_for(lambda s: _invoice_status(s) == "paid", "paid in the subscription")
    assert state.status == "active"
    events = await _events(driver)
    assert (events.count("invoice_paid"), events.count("payment_failed")) == (1, 1)
    row = await _invoice_row(driver)
    assert (row["status"], row["attempt_count"]) == ("paid", 1)


async def test_posting_runs_inside_the_workflow_task_and_replays(driver: Driver) -> None:
    """Since patch ``post-invoice-local`` the subscription posts through a local activity
    (a marker, no activity task) and its invoice workflow records nothing itself; both new
    histories replay against today's code (the old shape: tests/replay)."""
    await _one_pro_seat(driver, "pm_card_visa")
    [number] = await driver.pay_all()
    assert driver.handle is not None
    subscription = await driver.handle.fetch_history()
    invoice = await driver.env.client.get_workflow_handle(invoice_workflow_id(number)).fetch_history()
    for history, expected in ((subscription, set()), (invoice, {"collect_invoice"})):
        scheduled = {
            e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        }
        assert scheduled == expected
    markers = [e for e in subscription.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert any(b"post_invoice_local" in e.SerializeToString() for e in markers)
    replayer = Replayer(
        workflows=list(WORKFLOWS), workflow_runner=workflow_runner(), data_converter=pydantic_data_converter
    )
    for history in (subscription, invoice):
        await replayer.replay_workflow(history, raise_on_replay_failure=True)

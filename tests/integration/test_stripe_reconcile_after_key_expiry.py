"""No duplicate after Stripe forgets an idempotency key (it prunes them after 24 hours).

The story of each test: an attempt of the collection activity makes a Stripe write and loses
every answer (the emulator executes the request, then drops the connection, for the SDK's
retries too); a day passes (the emulator expires its keys now); Temporal retries the activity
(attempt 2). The retry reads by our ids before writing, so Stripe ends with one invoice, one
item per line and one charge. The control case runs the same retry as a first attempt
(no reads) and shows the duplicate real Stripe would make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.invoices import InvoiceActivities
from activities.payments import PaymentProviderUnavailable, workspace_customer
from activities.stripe_gateway import StripeGateway, stripe_client
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine
from contracts.invoices import CollectInvoice, CollectResult, PersistInvoice
from db.engine import session_factory
from devstack.stripe_emulator.server import EmulatorServer
from devstack.test_cards import give_test_card

API_KEY = "sk_test_reconcile"
ISSUED = datetime(2026, 3, 1, tzinfo=UTC)
LATER = ISSUED + timedelta(days=3)

# Where the lost answer is. Finalize and pay are the only POSTs to /v1/invoices/in_... of
# their phase (pay's fault is armed after the push).
STEPS: dict[str, dict[str, Any]] = {
    "create": {"path_prefix": "/v1/invoices", "method": "POST"},
    "item": {"path_prefix": "/v1/invoiceitems", "method": "POST"},
    "finalize": {"path_prefix": "/v1/invoices/in_", "method": "POST"},
    "pay": {"path_prefix": "/v1/invoices/in_", "method": "POST"},
}
# The first request executes; it and the SDK's two retries (replays) all lose their answer.
LOST = {"mode": "drop", "after": True, "count": 3}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def _fast_sdk_retries() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01)
        yield


@pytest.fixture(scope="module")
def raw(emulator: EmulatorServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


@pytest.fixture
async def control(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
        yield client


@pytest.fixture(scope="module")
def gateway(emulator: EmulatorServer) -> StripeGateway:
    return StripeGateway(stripe_client(API_KEY, emulator.url, timeout_s=5))


@pytest.fixture(scope="module")
def acts(migrated_engine: AsyncEngine, gateway: StripeGateway) -> InvoiceActivities:
    return InvoiceActivities(session_factory(migrated_engine), gateway)


def _line(description: str, quantity: int, unit: int) -> InvoiceLine:
    return InvoiceLine(
        kind="seat",
        description=description,
        quantity=quantity,
        unit_amount=unit,
        amount=quantity * unit,
        period_start=ISSUED,
        period_end=ISSUED + timedelta(days=31),
    )


async def _invoice(acts: InvoiceActivities, engine: AsyncEngine, gateway: StripeGateway, raw: Any) -> str:
    ws = f"ws-{uuid4().hex[:10]}"
    lines = (_line("3 x Standard seat", 3, 1200), _line("2 x Pro seat", 2, 2000))
    draft = InvoiceDraft(
        number=f"{ws}-00001",
        issued_at=ISSUED,
        period_start=ISSUED,
        period_end=ISSUED + timedelta(days=31),
        currency="usd",
        lines=lines,
        total=7600,
    )
    await give_test_card(session_factory(engine), gateway, raw, ws)
    return (await acts.persist_invoice(PersistInvoice(workspace_id=ws, draft=draft))).number


async def _attempt(acts: InvoiceActivities, number: str, attempt: int) -> CollectResult:
    """One attempt of the collection activity, as Temporal runs it (``activity.info().attempt``)."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    result = await env.run(acts.collect_invoice, CollectInvoice(number=number, attempt=1, at=LATER))
    assert isinstance(result, CollectResult)
    return result


async def _lose_then_forget(
    acts: InvoiceActivities, control: httpx.AsyncClient, number: str, step: str
) -> None:
    if step == "pay":
        await acts.push_invoice(number)
    (await control.post("/_emulator/faults", json={**STEPS[step], **LOST})).raise_for_status()
    with pytest.raises(PaymentProviderUnavailable):
        await _attempt(acts, number, 1)
    (await control.delete("/_emulator/faults")).raise_for_status()
    expired = (await control.post("/_emulator/idempotency/expire", json={})).json()["expired"]
    assert expired > 0


def _ours(raw: stripe.StripeClient, number: str) -> list[stripe.Invoice]:
    found = raw.v1.invoices.list({"limit": 100}).data
    return [i for i in found if i.to_dict().get("metadata", {}).get("number") == number]


async def _charges(control: httpx.AsyncClient) -> int:
    """Successful charges: ``/pay`` requests Stripe executed with a 200 (replays are not charges)."""
    log = (await control.get("/_emulator/requests")).json()["data"]
    return sum(1 for r in log if r["path"].endswith("/pay") and r["status"] == 200 and not r["fault"])


@pytest.mark.parametrize("step", STEPS)
async def test_a_retry_after_the_key_expired_duplicates_nothing(
    acts: InvoiceActivities,
    gateway: StripeGateway,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    step: str,
) -> None:
    number = await _invoice(acts, migrated_engine, gateway, raw)
    await _lose_then_forget(acts, control, number, step)
    result = await _attempt(acts, number, 2)
    assert result.outcome == "paid"
    [invoice] = _ours(raw, number)
    assert (invoice.status, invoice.total, invoice.amount_paid) == ("paid", 7600, 7600)
    lines = raw.v1.invoices.line_items.list(invoice.id).data
    assert sorted(li.amount for li in lines) == [3600, 4000]
    assert len(raw.v1.events.list({"type": "invoice.paid", "limit": 100}).data) == 1
    if step == "pay":
        assert await _charges(control) <= 1


@pytest.mark.parametrize("step", ["create", "item"])
async def test_without_reading_first_the_retry_duplicates(
    acts: InvoiceActivities,
    gateway: StripeGateway,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    step: str,
) -> None:
    """What the reads prevent: the same retry run as a first attempt writes twice."""
    number = await _invoice(acts, migrated_engine, gateway, raw)
    await _lose_then_forget(acts, control, number, step)
    await _attempt(acts, number, 1)
    invoices = _ours(raw, number)
    if step == "create":
        assert len(invoices) == 2  # a stray second draft (or worse, the one charged)
    else:
        [invoice] = invoices
        assert len(raw.v1.invoices.line_items.list(invoice.id).data) == 3  # a line charged twice


async def test_a_first_attempt_reads_nothing(
    acts: InvoiceActivities,
    gateway: StripeGateway,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
) -> None:
    """The reads cost nothing on the usual path: create, 2 items, pay (no customer check:
    the id is recorded; no finalize: paying the draft finalizes it)."""
    number = await _invoice(acts, migrated_engine, gateway, raw)
    before = len((await control.get("/_emulator/requests")).json()["data"])
    assert (await _attempt(acts, number, 1)).outcome == "paid"
    log = (await control.get("/_emulator/requests")).json()["data"][before:]
    assert [(r["method"], r["path"].split("/")[2]) for r in log] == [
        ("POST", "invoices"),
    ] + [("POST", "invoiceitems")] * 2 + [("POST", "invoices")]
    assert log[-1]["path"].endswith("/pay")


@pytest.mark.parametrize("reconcile", [True, False])
async def test_a_lost_customer_create_is_found_by_our_workspace_id(
    gateway: StripeGateway,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    reconcile: bool,
) -> None:
    ws = f"ws-{uuid4().hex[:10]}"
    sessions = session_factory(migrated_engine)
    lost = {"path_prefix": "/v1/customers", "method": "POST", **LOST}
    (await control.post("/_emulator/faults", json=lost)).raise_for_status()
    with pytest.raises(PaymentProviderUnavailable):
        await workspace_customer(sessions, gateway, ws)
    (await control.delete("/_emulator/faults")).raise_for_status()
    (await control.post("/_emulator/idempotency/expire", json={})).raise_for_status()
    found = await workspace_customer(sessions, gateway, ws, reconcile=reconcile)
    customers = [c.id for c in raw.v1.customers.search({"query": f"metadata['workspace_id']:'{ws}'"}).data]
    # Read first: the one customer; without the read, a second one (what real Stripe would do).
    assert len(customers) == (1 if reconcile else 2)
    assert found in customers

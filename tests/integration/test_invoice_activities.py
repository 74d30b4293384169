"""Invoice and billing-details activities against the Stripe emulator and the embedded PostgreSQL.

Activity methods are called directly. A "retry" is the same call made again, as Temporal
would after a failed attempt. Each test uses its own workspace and invoice numbers; the
emulator is reset before each test so its lists and logs count that test only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.invoices import InvoiceActivities
from activities.payments import PaymentProviderUnavailable
from activities.stripe_gateway import StripeGateway, stripe_client
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine, LineItem
from contracts.invoices import CollectInvoice, MarkInvoice, PersistInvoice, VoidInvoice
from db import stripe_event_repo
from db.engine import session_factory
from devstack.stripe_emulator.server import EmulatorServer
from services.payment_details import PaymentDetails
from services.payment_messages import AddTaxId, BillingDetails, FinishCardSetup, RemoveTaxId, StartCardSetup

API_KEY = "sk_test_invoices"
ISSUED = datetime(2026, 3, 1, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 1, tzinfo=UTC)
LATER = ISSUED + timedelta(days=3)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module", autouse=True)
def _fast_sdk_retries() -> Iterator[None]:
    """The SDK waits >= 0.5 s before a retry; the fault tests need the retry, not the wait."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stripe._http_client.HTTPClient, "INITIAL_DELAY", 0.01)
        yield


@pytest.fixture(scope="module")
def raw(emulator: EmulatorServer) -> stripe.StripeClient:
    """The SDK as the browser (Stripe.js) or another payer would use it."""
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


@pytest.fixture(scope="module")
def details(migrated_engine: AsyncEngine, gateway: StripeGateway) -> PaymentDetails:
    return PaymentDetails(session_factory(migrated_engine), gateway)


@pytest.fixture
def ws() -> str:
    return f"ws-{uuid4().hex[:10]}"


def _line(kind: Any, description: str, quantity: int, unit: int) -> InvoiceLine:
    return InvoiceLine(
        kind=kind,
        description=description,
        quantity=quantity,
        unit_amount=unit,
        amount=quantity * unit,
        period_start=ISSUED,
        period_end=PERIOD_END,
    )


def _posted(ws: str, seq: int = 1, lines: tuple[InvoiceLine, ...] | None = None) -> PersistInvoice:
    lines = lines or (
        _line("seat", "3 x Standard seat", 3, 1200),
        _line("seat_credit", "Unused seat", 1, -500),
    )
    draft = InvoiceDraft(
        number=f"{ws}-{seq:05d}",
        issued_at=ISSUED,
        period_start=ISSUED,
        period_end=PERIOD_END,
        currency="usd",
        lines=lines,
        total=sum(item.amount for item in lines),
    )
    return PersistInvoice(workspace_id=ws, draft=draft)


async def _card(details: PaymentDetails, raw: stripe.StripeClient, ws: str, magic: str) -> str:
    """Set the workspace's card the SPEC way: SetupIntent, confirmed by the browser, finished."""
    started = await details.start_card_setup(StartCardSetup(workspace_id=ws, request_id=uuid4().hex))
    raw.v1.setup_intents.confirm(started.setup_intent_id, {"payment_method": magic})
    card = await details.finish_card_setup(
        FinishCardSetup(workspace_id=ws, setup_intent_id=started.setup_intent_id)
    )
    return card.payment_method_id


async def _requests(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    data = (await control.get("/_emulator/requests")).json()["data"]
    assert isinstance(data, list)
    return data


async def _fault(control: httpx.AsyncClient, **spec: Any) -> None:
    (await control.post("/_emulator/faults", json=spec)).raise_for_status()


async def _row(engine: AsyncEngine, table: str, key: str, value: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        found = (await conn.execute(text(f"SELECT * FROM {table} WHERE {key} = :v"), {"v": value})).mappings()
        return dict(found.one())


def _stripe_invoices(raw: stripe.StripeClient, number: str) -> list[stripe.Invoice]:
    found = raw.v1.invoices.list({"limit": 100}).data
    return [i for i in found if i.to_dict().get("metadata", {}).get("number") == number]


def _paid_events(raw: stripe.StripeClient) -> int:
    return len(raw.v1.events.list({"type": "invoice.paid", "limit": 100}).data)


async def test_posted_invoice_is_pushed_and_paid(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    request = _posted(ws)
    number = request.draft.number
    await _card(details, raw, ws, "pm_card_visa")
    recorded = await acts.persist_invoice(request)
    assert (recorded.status, recorded.total) == ("unpaid", 3100)
    pushed = await acts.push_invoice(number)
    assert pushed.hosted_invoice_url is not None
    assert pushed.invoice_pdf is not None
    result = await acts.collect_invoice(CollectInvoice(number=number, attempt=1, at=LATER))
    assert (result.outcome, result.attempt_count) == ("paid", 1)
    [invoice] = _stripe_invoices(raw, number)
    assert (invoice.status, invoice.total, invoice.id) == ("paid", 3100, pushed.stripe_invoice_id)
    lines = raw.v1.invoices.line_items.list(invoice.id).data
    assert [(li.amount, li.description) for li in lines] == [
        (3600, "3 x Standard seat"),
        (-500, "Unused seat"),
    ]
    row = await _row(migrated_engine, "invoices", "number", number)
    assert (row["status"], row["stripe_status"]) == ("paid", "paid")
    assert row["paid_at"] is not None


async def test_stripe_items_carry_quantity_unit_amount_and_our_ids(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    seat = LineItem(kind="seat", code="pro", cycle="annual")
    seats = _line("seat", "Pro seat (annual)", 3, 1200).model_copy(update={"item": seat})
    credit = _line("seat_credit", "Pro seat (annual) (3/30 of -1200)", 1, -120).model_copy(
        update={"item": seat}
    )
    # A stored line whose amount is not its quantity times its unit (none is posted so
    # today): sent as its amount, so Stripe's total stays the engine's.
    odd = _line("plan", "Team plan", 2, 333).model_copy(update={"amount": 667})
    request = _posted(ws, lines=(seats, credit, odd))
    number = request.draft.number
    await _card(details, raw, ws, "pm_card_visa")
    await acts.persist_invoice(request)
    async with migrated_engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT item_kind, item_code, item_cycle FROM invoice_lines"
                    " WHERE invoice_number = :n ORDER BY position"
                ),
                {"n": number},
            )
        ).all()
    assert [tuple(r) for r in stored] == [("seat", "pro", "annual"), ("seat", "pro", "annual"), (None,) * 3]
    pushed = await acts.push_invoice(number)
    assert pushed.stripe_invoice_id is not None
    lines = raw.v1.invoices.line_items.list(pushed.stripe_invoice_id).data
    shown = [(li.amount, li.quantity, str(li.pricing and li.pricing.unit_amount_decimal)) for li in lines]
    assert shown == [(3600, 3, "1200"), (-120, 1, "-120"), (667, 1, "667")]
    meta = [li.metadata.to_dict() if li.metadata else {} for li in lines]
    assert meta == [
        {"number": number, "position": "0", "item_kind": "seat", "item_code": "pro", "item_cycle": "annual"},
        {"number": number, "position": "1", "item_kind": "seat", "item_code": "pro", "item_cycle": "annual"},
        {"number": number, "position": "2"},
    ]
    invoice = raw.v1.invoices.retrieve(pushed.stripe_invoice_id)
    assert invoice.total == request.draft.total == 3600 - 120 + 667


async def test_a_zero_invoice_is_paid_without_stripe(
    acts: InvoiceActivities, control: httpx.AsyncClient, ws: str
) -> None:
    request = _posted(ws, lines=(_line("seat", "Seat", 1, 1000), _line("credit_balance", "Credit", 1, -1000)))
    recorded = await acts.persist_invoice(request)
    assert (recorded.status, recorded.paid_at) == ("paid", ISSUED)
    assert (await acts.persist_invoice(request)).status == "paid"  # recorded once
    await acts.push_invoice(request.draft.number)
    result = await acts.collect_invoice(CollectInvoice(number=request.draft.number, attempt=1, at=LATER))
    assert result.outcome == "paid"
    assert await _requests(control) == []


async def test_a_decline_is_a_result_and_a_new_card_pays_the_next_attempt(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    number = (await acts.persist_invoice(_posted(ws))).number
    await _card(details, raw, ws, "pm_card_chargeCustomerFail")
    first = CollectInvoice(number=number, attempt=1, at=LATER)
    declined = await acts.collect_invoice(first)
    assert (declined.outcome, declined.code, declined.attempt_count) == ("declined", "generic_decline", 1)
    assert (await acts.collect_invoice(first)).outcome == "declined"  # a retried attempt replays
    [invoice] = _stripe_invoices(raw, number)
    assert (invoice.status, invoice.attempt_count) == ("open", 1)
    row = await _row(migrated_engine, "invoices", "number", number)
    assert (row["status"], row["attempt_count"]) == ("unpaid", 1)
    assert row["last_error"].startswith("generic_decline")
    await _card(details, raw, ws, "pm_card_visa")
    paid = await acts.collect_invoice(CollectInvoice(number=number, attempt=2, at=LATER + timedelta(days=2)))
    assert (paid.outcome, paid.attempt_count) == ("paid", 2)
    assert _paid_events(raw) == 1


async def test_no_card_on_file_is_declined_too(
    acts: InvoiceActivities, control: httpx.AsyncClient, ws: str
) -> None:
    number = (await acts.persist_invoice(_posted(ws))).number
    result = await acts.collect_invoice(CollectInvoice(number=number, attempt=1, at=LATER))
    assert result.outcome == "declined"
    assert result.message is not None
    assert "payment method" in result.message


async def test_collect_pays_the_draft_and_records_what_stripe_finalized(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    """Collection pays the draft (no finalize request): a decline leaves Stripe's invoice
    open with its hosted page recorded; without a card it stays a draft, which void deletes."""
    declined_number = (await acts.persist_invoice(_posted(ws, 1))).number
    without_card = (await acts.persist_invoice(_posted(ws, 2))).number
    no_card = await acts.collect_invoice(CollectInvoice(number=without_card, attempt=1, at=LATER))
    assert no_card.outcome == "declined"
    row = await _row(migrated_engine, "invoices", "number", without_card)
    assert (row["stripe_status"], row["hosted_invoice_url"]) == ("draft", None)
    assert (await acts.void_invoice(VoidInvoice(number=without_card, at=LATER))).status == "void"
    assert _stripe_invoices(raw, without_card) == []  # the draft was deleted, not voided

    await _card(details, raw, ws, "pm_card_chargeCustomerFail")
    before = len(await _requests(control))
    declined = await acts.collect_invoice(CollectInvoice(number=declined_number, attempt=1, at=LATER))
    assert declined.outcome == "declined"
    assert declined.hosted_invoice_url is not None
    row = await _row(migrated_engine, "invoices", "number", declined_number)
    assert (row["stripe_status"], row["hosted_invoice_url"]) == ("open", declined.hosted_invoice_url)
    paths = [r["path"] for r in (await _requests(control))[before:]]
    assert not any(p.endswith("/finalize") or p.startswith("/v1/customers") for p in paths)
    assert sum(p.endswith("/pay") for p in paths) == 1


async def test_every_step_run_again_creates_nothing_new(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    await _card(details, raw, ws, "pm_card_visa")
    number = (await acts.persist_invoice(_posted(ws))).number
    first = await acts.push_invoice(number)
    before = len(await _requests(control))
    assert await acts.push_invoice(number) == first  # all recorded: no Stripe call at all
    assert len(await _requests(control)) == before
    # A crash after each Stripe write but before its commit: the ids were never recorded.
    async with migrated_engine.begin() as conn:
        await conn.execute(
            text("UPDATE invoices SET stripe_invoice_id = NULL, stripe_status = NULL WHERE number = :n"),
            {"n": number},
        )
        await conn.execute(
            text("UPDATE invoice_lines SET stripe_invoice_item_id = NULL WHERE invoice_number = :n"),
            {"n": number},
        )
    again = await acts.push_invoice(number)
    assert again.stripe_invoice_id == first.stripe_invoice_id  # Stripe replayed the create
    for _ in range(2):
        assert (
            await acts.collect_invoice(CollectInvoice(number=number, attempt=1, at=LATER))
        ).outcome == "paid"
    [invoice] = _stripe_invoices(raw, number)
    assert len(raw.v1.invoices.line_items.list(invoice.id).data) == 2
    assert _paid_events(raw) == 1
    replays = [r for r in (await _requests(control))[before:] if r["method"] == "POST"]
    assert {r["idempotency_key"] for r in replays} >= {f"invoice:{number}:create", f"invoice:{number}:item:1"}


STEPS: dict[str, dict[str, Any]] = {
    "create": {"path_prefix": "/v1/invoices", "method": "POST"},
    "item": {"path_prefix": "/v1/invoiceitems", "method": "POST"},
    "finalize": {"path_prefix": "/v1/invoices/in_", "method": "POST"},  # the only such POST of a push
    "pay": {"path_prefix": "/v1/invoices/in_", "method": "POST"},  # armed after the push
}
FAULTS: dict[str, dict[str, Any]] = {
    "429": {"mode": "429"},
    "500": {"mode": "500"},
    "slow": {"mode": "slow", "delay_s": 0.2},
    "drop": {"mode": "drop"},
    "lost-500": {"mode": "500", "after": True},
    "lost-drop": {"mode": "drop", "after": True},
    "outage": {"mode": "500", "count": 3},  # beyond the SDK's retries: the activity fails, then retries
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step", STEPS)
async def test_faults_never_duplicate_an_invoice_or_a_charge(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    ws: str,
    step: str,
    fault: str,
) -> None:
    await _card(details, raw, ws, "pm_card_visa")
    number = (await acts.persist_invoice(_posted(ws))).number
    if step == "pay":
        await acts.push_invoice(number)
    await _fault(control, **STEPS[step], **FAULTS[fault])
    collect = CollectInvoice(number=number, attempt=1, at=LATER)
    try:
        result = await acts.collect_invoice(collect)
    except PaymentProviderUnavailable:
        assert fault == "outage"
        result = await acts.collect_invoice(collect)  # Temporal's retry of the activity
    assert result.outcome == "paid"
    [invoice] = _stripe_invoices(raw, number)
    assert (invoice.status, invoice.total) == ("paid", 3100)
    assert len(raw.v1.invoices.line_items.list(invoice.id).data) == 2
    assert _paid_events(raw) == 1
    assert any(r["fault"] for r in await _requests(control))  # the fault did hit


async def test_refresh_reconciles_an_invoice_paid_in_stripe(
    acts: InvoiceActivities,
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    ws: str,
) -> None:
    number = (await acts.persist_invoice(_posted(ws))).number
    pushed = await acts.push_invoice(number)
    assert pushed.stripe_invoice_id is not None
    overdue = await acts.mark_invoice(MarkInvoice(number=number, status="overdue", at=LATER))
    assert overdue.status == "overdue"
    raw.v1.invoices.pay(pushed.stripe_invoice_id, {"paid_out_of_band": True})  # paid outside our collection
    refreshed = await acts.refresh_invoice(number)
    assert refreshed.status == "paid"
    assert refreshed.paid_at is not None
    late = await acts.mark_invoice(MarkInvoice(number=number, status="overdue", at=LATER))  # a late fact
    assert late.status == "paid"
    assert (await acts.collect_invoice(CollectInvoice(number=number, attempt=2, at=LATER))).outcome == "paid"


async def test_void_open_draft_and_local_invoices(
    acts: InvoiceActivities, raw: stripe.StripeClient, control: httpx.AsyncClient, ws: str
) -> None:
    opened = (await acts.persist_invoice(_posted(ws, 1))).number
    await acts.push_invoice(opened)
    voided = await acts.void_invoice(VoidInvoice(number=opened, at=LATER))
    assert (voided.status, voided.voided_at is not None) == ("void", True)
    assert (await acts.void_invoice(VoidInvoice(number=opened, at=LATER))).status == "void"
    assert _stripe_invoices(raw, opened)[0].status == "void"
    assert (await acts.collect_invoice(CollectInvoice(number=opened, attempt=1, at=LATER))).outcome == "void"

    drafted = (await acts.persist_invoice(_posted(ws, 2))).number
    await _fault(control, path_prefix="/v1/invoices/in_", method="POST", mode="500", count=3)
    with pytest.raises(PaymentProviderUnavailable):
        await acts.push_invoice(drafted)  # stopped before finalize: a draft in Stripe
    assert (await acts.void_invoice(VoidInvoice(number=drafted, at=LATER))).status == "void"
    assert _stripe_invoices(raw, drafted) == []  # drafts are deleted, not voided

    local = (await acts.persist_invoice(_posted(ws, 3))).number
    before = len(await _requests(control))
    assert (await acts.void_invoice(VoidInvoice(number=local, at=LATER))).voided_at == LATER
    assert len(await _requests(control)) == before


async def test_stripe_events_are_recorded_once(migrated_engine: AsyncEngine) -> None:
    event_id, payload = f"evt_{uuid4().hex}", {"id": "x", "n": 1}
    for fresh in (True, False):
        async with session_factory(migrated_engine).begin() as session:
            stored = await stripe_event_repo.insert_stripe_event(session, event_id, "invoice.paid", payload)
        assert stored is fresh


async def test_billing_details_card_and_tax_ids_are_mirrored(
    details: PaymentDetails,
    raw: stripe.StripeClient,
    control: httpx.AsyncClient,
    migrated_engine: AsyncEngine,
    ws: str,
) -> None:
    info = BillingDetails(
        workspace_id=ws,
        billing_email="ap@acme.test",
        company_name="Acme Ltd",
        purchasing_as_business=True,
        country="GB",
    )
    await details.save_billing_details(info)
    await _card(details, raw, ws, "pm_card_visa")
    profile = await _row(migrated_engine, "billing_profiles", "workspace_id", ws)
    assert (profile["card_brand"], profile["card_last4"], profile["card_exp_month"]) == ("visa", "4242", 12)
    customer = raw.v1.customers.retrieve(profile["stripe_customer_id"]).to_dict()
    assert (customer["email"], customer["business_name"]) == ("ap@acme.test", "Acme Ltd")
    await details.save_billing_details(info.model_copy(update={"billing_email": "billing@acme.test"}))
    assert raw.v1.customers.retrieve(profile["stripe_customer_id"]).email == "billing@acme.test"

    added = await details.add_tax_id(
        AddTaxId(workspace_id=ws, request_id="r1", type="gb_vat", value="GB123456789")
    )
    assert (added.type, added.value, added.country) == ("gb_vat", "GB123456789", "GB")
    mirrored = await _row(migrated_engine, "tax_ids", "stripe_tax_id", added.stripe_tax_id)
    assert mirrored["workspace_id"] == ws
    assert [t.stripe_tax_id for t in await details.list_tax_ids(ws)] == [added.stripe_tax_id]
    await details.remove_tax_id(RemoveTaxId(workspace_id=ws, stripe_tax_id=added.stripe_tax_id))
    await details.remove_tax_id(RemoveTaxId(workspace_id=ws, stripe_tax_id=added.stripe_tax_id))
    assert await details.list_tax_ids(ws) == []
    async with migrated_engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM tax_ids WHERE workspace_id = :w"), {"w": ws})
    assert count == 0

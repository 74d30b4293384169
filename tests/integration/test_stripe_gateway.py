"""The Stripe adapter against the Stripe emulator, through the unmodified SDK: shapes, keys, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
import stripe
from temporalio.exceptions import ApplicationError

from activities.payments import PaymentProviderUnavailable
from activities.stripe_gateway import STRIPE_API_VERSION, StripeGateway, stripe_client
from contracts.errors import CARD_DECLINED, STRIPE_IDEMPOTENCY_CONFLICT, STRIPE_INVALID_REQUEST
from contracts.payments import CustomerDetails, NewStripeInvoice, NewStripeInvoiceItem
from devstack.stripe_emulator.server import EmulatorServer

API_KEY = "sk_test_gateway"
JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def raw(emulator: EmulatorServer) -> stripe.StripeClient:
    """The SDK as a test (or a browser with Stripe.js) uses it, to arrange and inspect."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})


@pytest.fixture(scope="module")
def gateway(emulator: EmulatorServer) -> StripeGateway:
    return StripeGateway(stripe_client(API_KEY, emulator.url, timeout_s=5))


@pytest.fixture
async def control(emulator: EmulatorServer) -> AsyncIterator[httpx.AsyncClient]:
    """The emulator's control API; every test starts from an empty emulator."""
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as client:
        (await client.post("/_emulator/reset")).raise_for_status()
        yield client


def _card(raw: stripe.StripeClient, customer: str, magic: str = "pm_card_visa") -> str:
    pm = raw.v1.payment_methods.attach(magic, {"customer": customer})
    raw.v1.customers.update(customer, {"invoice_settings": {"default_payment_method": pm.id}})
    return pm.id


async def _open_invoice(gateway: StripeGateway, customer: str, number: str, amount: int = 1500) -> str:
    draft = await gateway.create_invoice(
        NewStripeInvoice(number=number, workspace_id="ws-g", customer_id=customer, currency="USD")
    )
    item = NewStripeInvoiceItem(
        number=number,
        position=0,
        customer_id=customer,
        invoice_id=draft.id,
        amount=amount,
        currency="usd",
        description="Pro plan",
        period_start=JAN,
        period_end=FEB,
    )
    await gateway.add_invoice_item(item)
    await gateway.finalize_invoice(number, draft.id)
    return draft.id


def test_the_sdk_pins_the_endive_api_version() -> None:
    assert stripe.api_version == "2026-10-28.endive"
    assert stripe.api_version == STRIPE_API_VERSION


async def test_customer_is_created_once_and_kept_up_to_date(
    gateway: StripeGateway, raw: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    details = CustomerDetails(workspace_id="ws-c", email="a@x.test", name="Acme", country="FR")
    first = await gateway.ensure_customer(None, details)
    assert await gateway.ensure_customer(None, details) == first  # same key: replayed
    assert len(raw.v1.customers.list().data) == 1
    changed = details.model_copy(update={"email": "billing@x.test", "business_name": "Acme SAS"})
    assert await gateway.ensure_customer(first, changed) == first
    customer = raw.v1.customers.retrieve(first).to_dict()
    assert (customer["email"], customer["business_name"], customer["metadata"]) == (
        "billing@x.test",
        "Acme SAS",
        {"workspace_id": "ws-c"},
    )
    assert customer["address"]["country"] == "FR"


async def test_invoice_create_item_finalize_pay(
    gateway: StripeGateway, raw: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    customer = await gateway.ensure_customer(None, CustomerDetails(workspace_id="ws-p"))
    _card(raw, customer)
    invoice_id = await _open_invoice(gateway, customer, "ws-p-00001")
    opened = await gateway.retrieve_invoice(invoice_id)
    assert (opened.status, opened.total, opened.currency) == ("open", 1500, "usd")
    assert opened.hosted_invoice_url
    assert opened.invoice_pdf
    assert opened.number
    assert opened.metadata == {"number": "ws-p-00001", "workspace_id": "ws-g"}
    line = raw.v1.invoices.line_items.list(invoice_id).data[0]
    assert (line.amount, line.description, line.period.start) == (1500, "Pro plan", int(JAN.timestamp()))
    paid = await gateway.pay_invoice("ws-p-00001", invoice_id, 1)
    assert (paid.status, paid.amount_remaining) == ("paid", 0)
    assert paid.paid_at is not None
    keys = [r["idempotency_key"] for r in (await control.get("/_emulator/requests")).json()["data"]]
    assert {"invoice:ws-p-00001:create", "invoice:ws-p-00001:item:0", "invoice:ws-p-00001:finalize"} <= set(
        keys
    )
    assert "invoice:ws-p-00001:pay:1" in keys


async def test_errors_map_to_the_port_vocabulary(
    gateway: StripeGateway, raw: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    customer = await gateway.ensure_customer(None, CustomerDetails(workspace_id="ws-e"))
    _card(raw, customer, "pm_card_chargeCustomerFail")
    invoice_id = await _open_invoice(gateway, customer, "ws-e-00001")
    with pytest.raises(ApplicationError) as declined:
        await gateway.pay_invoice("ws-e-00001", invoice_id, 1)
    assert (declined.value.type, declined.value.non_retryable) == (CARD_DECLINED, True)
    assert declined.value.details[0]["decline_code"] == "generic_decline"
    with pytest.raises(ApplicationError) as missing:
        await gateway.retrieve_invoice("in_missing")
    assert (missing.value.type, missing.value.non_retryable) == (STRIPE_INVALID_REQUEST, True)
    other = NewStripeInvoice(number="ws-e-00001", workspace_id="ws-g", customer_id=customer, currency="eur")
    with pytest.raises(ApplicationError) as conflict:
        await gateway.create_invoice(other)  # same key as the first invoice, other parameters
    assert conflict.value.type == STRIPE_IDEMPOTENCY_CONFLICT
    (await control.post("/_emulator/faults", json={"mode": "429", "count": 3})).raise_for_status()
    with pytest.raises(PaymentProviderUnavailable):
        await gateway.retrieve_invoice(invoice_id)  # three 429s: the SDK's two retries are spent
    (await control.post("/_emulator/faults", json={"mode": "500", "count": 1})).raise_for_status()
    assert (await gateway.retrieve_invoice(invoice_id)).id == invoice_id  # one 500: retried


async def test_void_and_delete_draft(
    gateway: StripeGateway, raw: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    customer = await gateway.ensure_customer(None, CustomerDetails(workspace_id="ws-v"))
    invoice_id = await _open_invoice(gateway, customer, "ws-v-00001")
    voided = await gateway.void_invoice("ws-v-00001", invoice_id)
    assert voided.status == "void"
    assert voided.voided_at is not None
    draft = await gateway.create_invoice(
        NewStripeInvoice(number="ws-v-00002", workspace_id="ws-g", customer_id=customer, currency="usd")
    )
    await gateway.delete_draft_invoice(draft.id)
    await gateway.delete_draft_invoice(draft.id)  # already gone: fine
    assert [i.id for i in raw.v1.invoices.list({"customer": customer}).data] == [invoice_id]


async def test_setup_intent_card_summary_and_default(
    gateway: StripeGateway, raw: stripe.StripeClient, control: httpx.AsyncClient
) -> None:
    customer = await gateway.ensure_customer(None, CustomerDetails(workspace_id="ws-s"))
    intent = await gateway.create_setup_intent(customer, "setup:ws-s:r1")
    assert intent.client_secret
    assert intent.status == "requires_payment_method"
    raw.v1.setup_intents.confirm(intent.id, {"payment_method": "pm_card_visa"})  # the browser's part
    done = await gateway.retrieve_setup_intent(intent.id)
    assert done.status == "succeeded"
    assert done.payment_method is not None
    card = await gateway.card_summary(done.payment_method)
    assert (card.brand, card.last4, card.exp_month) == ("visa", "4242", 12)
    await gateway.set_default_payment_method(customer, card.payment_method_id, "k1")
    settings = raw.v1.customers.retrieve(customer).invoice_settings
    assert settings is not None
    assert settings.default_payment_method == card.payment_method_id


async def test_tax_ids(gateway: StripeGateway, control: httpx.AsyncClient) -> None:
    customer = await gateway.ensure_customer(None, CustomerDetails(workspace_id="ws-t"))
    added = await gateway.add_tax_id(customer, "gb_vat", "GB 123 456 789", "t1")
    assert (added.type, added.value, added.country) == ("gb_vat", "GB123456789", "GB")
    assert [t.id for t in await gateway.list_tax_ids(customer)] == [added.id]
    with pytest.raises(ApplicationError) as invalid:
        await gateway.add_tax_id(customer, "eu_vat", "nonsense", "t2")
    assert invalid.value.details[0]["code"] == "tax_id_invalid"
    await gateway.delete_tax_id(customer, added.id)
    await gateway.delete_tax_id(customer, added.id)  # already gone: fine
    assert await gateway.list_tax_ids(customer) == []

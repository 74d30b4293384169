"""The Stripe adapter of `activities.payments.PaymentGateway` (SDK 16, API ``2026-10-28.endive``).

One ``StripeClient`` per worker, ``client.v1.*`` async calls only, every write with a key from
`activities.payments`. SDK objects never leave this module and `activities.stripe_mapping`:
`invoice_of` & co. map them into the models of `contracts.payments`, and `mapped_errors`
turns SDK exceptions into the port's error vocabulary.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

import stripe
from stripe.params import InvoiceItemCreateParams
from temporalio.exceptions import ApplicationError

from activities.payments import customer_key, invoice_key
from activities.stripe_mapping import invoice_of, mapped_errors, setup_intent_of, tax_id_of, text
from config.settings import Settings
from contracts.errors import STRIPE_INVALID_REQUEST
from contracts.payments import (
    CardSummary,
    CustomerDetails,
    NewStripeInvoice,
    NewStripeInvoiceItem,
    StripeInvoice,
    StripeSetupIntent,
    StripeTaxId,
)

# The API version every request pins (and the webhook endpoint must be created with). It is
# the SDK's own: a unit test asserts the value, so an SDK upgrade is a deliberate change.
STRIPE_API_VERSION: Final = stripe.api_version


def stripe_client(api_key: str, api_base: str | None = None, timeout_s: float = 20.0) -> stripe.StripeClient:
    """The one client of a worker: pinned version, explicit timeout, a few SDK retries.

    The SDK retries (same idempotency key) on 409, 5xx, connection errors and a 429 that says
    ``Stripe-Should-Retry``; Temporal retries the activity after that, so two is enough.
    """
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        stripe_version=STRIPE_API_VERSION,
        max_network_retries=2,
        http_client=stripe.HTTPXClient(timeout=timeout_s),
    )


def _item_metadata(item: NewStripeInvoiceItem) -> dict[str, str]:
    """Our ids on the Stripe item: the invoice line, and what it charges when known."""
    ours = {"item_kind": item.item_kind, "item_code": item.item_code, "item_cycle": item.item_cycle}
    known = {key: value for key, value in ours.items() if value is not None}
    return {"number": item.number, "position": str(item.position), **known}


def search_value(value: str) -> str:
    """``value`` quoted for Stripe's search query language (``\'`` and ``\\`` escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class StripeGateway:
    """`PaymentGateway` over Stripe."""

    def __init__(self, client: stripe.StripeClient) -> None:
        self._v1 = client.v1

    async def ensure_customer(self, customer_id: str | None, details: CustomerDetails) -> str:
        wanted: dict[str, Any] = {
            k: v
            for k, v in {
                "email": details.email,
                "name": details.name,
                "business_name": details.business_name,
            }.items()
            if v is not None
        }
        if details.country:
            wanted["address"] = {"country": details.country}
        async with mapped_errors():
            if customer_id is None:
                params = {**wanted, "metadata": {"workspace_id": details.workspace_id}}
                created = await self._v1.customers.create_async(
                    params,  # type: ignore[arg-type]  # built from CustomerCreateParams' own keys
                    {"idempotency_key": customer_key(details.workspace_id)},
                )
                return created.id
            current = (await self._v1.customers.retrieve_async(customer_id)).to_dict()
            if current.get("deleted"):
                message = f"Stripe customer {customer_id} was deleted"
                raise ApplicationError(message, type=STRIPE_INVALID_REQUEST, non_retryable=True)
            country = (current.get("address") or {}).get("country")
            changed = {k: v for k, v in wanted.items() if k != "address" and current.get(k) != v}
            if "address" in wanted and country != details.country:
                changed["address"] = wanted["address"]
            if changed:
                # An update is idempotent by content: the SDK's own random key is fine.
                await self._v1.customers.update_async(customer_id, changed)  # type: ignore[arg-type]
            return customer_id

    async def find_customer(self, workspace_id: str) -> str | None:
        # Search, not list: only search filters by metadata. It lags writes by up to a minute,
        # which the idempotency key covers (it lives 24 h); this read is for after that.
        query = f"metadata['workspace_id']:{search_value(workspace_id)}"
        async with mapped_errors():
            found = await self._v1.customers.search_async({"query": query, "limit": 10})
        # The oldest one is the customer our first attempt made; a later one would be a duplicate.
        return min(found.data, key=lambda c: c.created).id if found.data else None

    async def find_invoice(self, number: str) -> StripeInvoice | None:
        query = f"metadata['number']:{search_value(number)}"
        async with mapped_errors():
            found = await self._v1.invoices.search_async({"query": query, "limit": 10})
        return invoice_of(min(found.data, key=lambda i: i.created)) if found.data else None

    async def invoice_item_ids(self, number: str, invoice_id: str) -> dict[int, str]:
        items: dict[int, str] = {}
        async with mapped_errors():
            page = await self._v1.invoices.line_items.list_async(invoice_id, {"limit": 100})
            async for line in page.auto_paging_iter():
                d = line.to_dict()
                meta = d.get("metadata") or {}
                parent = (d.get("parent") or {}).get("invoice_item_details") or {}
                item_id = text(parent.get("invoice_item"))
                position = str(meta.get("position", ""))
                if meta.get("number") == number and position.isdigit() and item_id:
                    items.setdefault(int(position), item_id)
        return items

    async def create_invoice(self, invoice: NewStripeInvoice) -> StripeInvoice:
        async with mapped_errors():
            created = await self._v1.invoices.create_async(
                {
                    "customer": invoice.customer_id,
                    "currency": invoice.currency.lower(),
                    "auto_advance": False,
                    "collection_method": "charge_automatically",
                    "pending_invoice_items_behavior": "exclude",
                    "metadata": {"number": invoice.number, "workspace_id": invoice.workspace_id},
                },
                {"idempotency_key": invoice_key(invoice.number, "create")},
            )
            return invoice_of(created)

    async def add_invoice_item(self, item: NewStripeInvoiceItem) -> str:
        params: InvoiceItemCreateParams = {
            "customer": item.customer_id,
            "invoice": item.invoice_id,
            "currency": item.currency.lower(),
            "description": item.description,
            "period": {
                "start": int(item.period_start.timestamp()),
                "end": int(item.period_end.timestamp()),
            },
            "metadata": _item_metadata(item),
        }
        if item.quantity is not None and item.unit_amount is not None:
            # This API version has no integer unit_amount on invoice items; Stripe
            # multiplies the decimal one by the quantity.
            params["quantity"] = item.quantity
            params["unit_amount_decimal"] = Decimal(item.unit_amount)
        else:
            params["amount"] = item.amount
        async with mapped_errors():
            created = await self._v1.invoice_items.create_async(
                params, {"idempotency_key": invoice_key(item.number, f"item:{item.position}")}
            )
            return created.id

    async def finalize_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        async with mapped_errors():
            done = await self._v1.invoices.finalize_invoice_async(
                invoice_id, {"auto_advance": False}, {"idempotency_key": invoice_key(number, "finalize")}
            )
            return invoice_of(done)

    async def pay_invoice(self, number: str, invoice_id: str, attempt: int) -> StripeInvoice:
        async with mapped_errors():
            paid = await self._v1.invoices.pay_async(
                invoice_id, {"off_session": True}, {"idempotency_key": invoice_key(number, f"pay:{attempt}")}
            )
            return invoice_of(paid)

    async def retrieve_invoice(self, invoice_id: str) -> StripeInvoice:
        async with mapped_errors():
            return invoice_of(await self._v1.invoices.retrieve_async(invoice_id))

    async def void_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        async with mapped_errors():
            voided = await self._v1.invoices.void_invoice_async(
                invoice_id, options={"idempotency_key": invoice_key(number, "void")}
            )
            return invoice_of(voided)

    async def delete_draft_invoice(self, invoice_id: str) -> None:
        async with mapped_errors():
            try:
                await self._v1.invoices.delete_async(invoice_id)
            except stripe.InvalidRequestError as err:
                if err.code != "resource_missing":  # already deleted by an earlier attempt
                    raise

    async def create_setup_intent(self, customer_id: str, key: str) -> StripeSetupIntent:
        async with mapped_errors():
            created = await self._v1.setup_intents.create_async(
                {"customer": customer_id, "usage": "off_session", "allowed_payment_method_types": ["card"]},
                {"idempotency_key": key},
            )
            return setup_intent_of(created)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> StripeSetupIntent:
        async with mapped_errors():
            return setup_intent_of(await self._v1.setup_intents.retrieve_async(setup_intent_id))

    async def card_summary(self, payment_method_id: str) -> CardSummary:
        async with mapped_errors():
            d = (await self._v1.payment_methods.retrieve_async(payment_method_id)).to_dict()
        card = d.get("card") or {}
        return CardSummary(
            payment_method_id=d["id"],
            brand=text(card.get("brand")),
            last4=text(card.get("last4")),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )

    async def set_default_payment_method(self, customer_id: str, payment_method_id: str, key: str) -> None:
        async with mapped_errors():
            await self._v1.customers.update_async(
                customer_id,
                {"invoice_settings": {"default_payment_method": payment_method_id}},
                {"idempotency_key": key},
            )

    async def add_tax_id(self, customer_id: str, tax_type: str, value: str, key: str) -> StripeTaxId:
        async with mapped_errors():
            created = await self._v1.customers.tax_ids.create_async(
                customer_id,
                {"type": tax_type, "value": value},
                {"idempotency_key": key},
            )
            return tax_id_of(created)

    async def list_tax_ids(self, customer_id: str) -> list[StripeTaxId]:
        async with mapped_errors():
            page = await self._v1.customers.tax_ids.list_async(customer_id, {"limit": 100})
            return [tax_id_of(t) async for t in page.auto_paging_iter()]

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        async with mapped_errors():
            try:
                await self._v1.customers.tax_ids.delete_async(customer_id, tax_id)
            except stripe.InvalidRequestError as err:
                if err.code != "resource_missing":
                    raise


def gateway_for(settings: Settings) -> StripeGateway | None:
    """The Stripe adapter the settings describe (the emulator's address under `tenure dev`);
    None without a Stripe key."""
    if settings.stripe_api_key is None:
        return None
    return StripeGateway(stripe_client(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base))

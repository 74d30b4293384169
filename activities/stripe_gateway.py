"""The Stripe adapter of `activities.payments.PaymentGateway` (SDK 16, API ``2026-10-28.endive``).

One ``StripeClient`` per worker, ``client.v1.*`` async calls only, every write with a key from
`activities.payments`. SDK objects never leave this module: `_invoice` & co. map them (via
``to_dict()``, so a field a server omits is ``None`` rather than an ``AttributeError``) into
the models of `billing.payments`, and `_mapped_errors` turns SDK exceptions into the port's
error vocabulary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import stripe
from stripe.params import InvoiceItemCreateParams
from temporalio.exceptions import ApplicationError

from activities.payments import (
    CARD_DECLINED,
    STRIPE_IDEMPOTENCY_CONFLICT,
    STRIPE_INVALID_REQUEST,
    PaymentProviderUnavailable,
    customer_key,
    invoice_key,
)
from billing.payments import (
    CardSummary,
    CustomerDetails,
    NewStripeInvoice,
    NewStripeInvoiceItem,
    StripeInvoice,
    StripeSetupIntent,
    StripeTaxId,
)
from config.settings import Settings

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


def _instant(unix: object) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if isinstance(unix, int) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _id(value: object) -> str | None:
    """An id field that may come expanded (an object with ``id``) or as a string."""
    if isinstance(value, Mapping):
        return _str(value.get("id"))
    return _str(value)


def _invoice(obj: stripe.Invoice) -> StripeInvoice:
    d = obj.to_dict()
    transitions = d.get("status_transitions") or {}
    return StripeInvoice(
        id=d["id"],
        customer=_id(d.get("customer")) or "",
        status=d.get("status") or "draft",
        number=_str(d.get("number")),
        currency=d.get("currency") or "",
        total=int(d.get("total") or 0),
        amount_remaining=int(d.get("amount_remaining") or 0),
        attempt_count=int(d.get("attempt_count") or 0),
        hosted_invoice_url=_str(d.get("hosted_invoice_url")),
        invoice_pdf=_str(d.get("invoice_pdf")),
        paid_at=_instant(transitions.get("paid_at")),
        voided_at=_instant(transitions.get("voided_at")),
        metadata={str(k): str(v) for k, v in (d.get("metadata") or {}).items()},
    )


def _setup_intent(obj: stripe.SetupIntent) -> StripeSetupIntent:
    d = obj.to_dict()
    return StripeSetupIntent(
        id=d["id"],
        status=d.get("status") or "",
        client_secret=_str(d.get("client_secret")),
        customer=_id(d.get("customer")),
        payment_method=_id(d.get("payment_method")),
    )


def _tax_id(obj: stripe.TaxId) -> StripeTaxId:
    d = obj.to_dict()
    return StripeTaxId(
        id=d["id"],
        type=d.get("type") or "",
        value=d.get("value") or "",
        country=_str(d.get("country")),
        created=_instant(d.get("created")) or datetime.fromtimestamp(0, UTC),
    )


def _declined(err: stripe.CardError) -> ApplicationError:
    payload = err.json_body.get("error", {}) if isinstance(err.json_body, dict) else {}
    details = {"code": err.code, "decline_code": payload.get("decline_code"), "message": err.user_message}
    return ApplicationError(str(err.user_message), details, type=CARD_DECLINED, non_retryable=True)


def _item_metadata(item: NewStripeInvoiceItem) -> dict[str, str]:
    """Our ids on the Stripe item: the invoice line, and what it charges when known."""
    ours = {"item_kind": item.item_kind, "item_code": item.item_code, "item_cycle": item.item_cycle}
    known = {key: value for key, value in ours.items() if value is not None}
    return {"number": item.number, "position": str(item.position), **known}


@asynccontextmanager
async def _mapped_errors() -> AsyncIterator[None]:
    """SDK exceptions -> the port's errors (non-retryable refusals, retryable outages)."""
    try:
        yield
    except stripe.CardError as err:
        raise _declined(err) from err
    except stripe.IdempotencyError as err:
        raise ApplicationError(str(err), type=STRIPE_IDEMPOTENCY_CONFLICT, non_retryable=True) from err
    except stripe.InvalidRequestError as err:
        details = {"code": err.code, "param": err.param, "message": err.user_message}
        raise ApplicationError(str(err), details, type=STRIPE_INVALID_REQUEST, non_retryable=True) from err
    except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as err:
        raise PaymentProviderUnavailable(f"Stripe unavailable: {err}") from err
    except stripe.StripeError as err:
        # Authentication/permission errors: configuration, fixed by a deploy; keep retrying.
        raise PaymentProviderUnavailable(f"Stripe refused: {err}") from err


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
        async with _mapped_errors():
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

    async def create_invoice(self, invoice: NewStripeInvoice) -> StripeInvoice:
        async with _mapped_errors():
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
            return _invoice(created)

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
        async with _mapped_errors():
            created = await self._v1.invoice_items.create_async(
                params, {"idempotency_key": invoice_key(item.number, f"item:{item.position}")}
            )
            return created.id

    async def finalize_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        async with _mapped_errors():
            done = await self._v1.invoices.finalize_invoice_async(
                invoice_id, {"auto_advance": False}, {"idempotency_key": invoice_key(number, "finalize")}
            )
            return _invoice(done)

    async def pay_invoice(self, number: str, invoice_id: str, attempt: int) -> StripeInvoice:
        async with _mapped_errors():
            paid = await self._v1.invoices.pay_async(
                invoice_id, {"off_session": True}, {"idempotency_key": invoice_key(number, f"pay:{attempt}")}
            )
            return _invoice(paid)

    async def retrieve_invoice(self, invoice_id: str) -> StripeInvoice:
        async with _mapped_errors():
            return _invoice(await self._v1.invoices.retrieve_async(invoice_id))

    async def void_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        async with _mapped_errors():
            voided = await self._v1.invoices.void_invoice_async(
                invoice_id, options={"idempotency_key": invoice_key(number, "void")}
            )
            return _invoice(voided)

    async def delete_draft_invoice(self, invoice_id: str) -> None:
        async with _mapped_errors():
            try:
                await self._v1.invoices.delete_async(invoice_id)
            except stripe.InvalidRequestError as err:
                if err.code != "resource_missing":  # already deleted by an earlier attempt
                    raise

    async def create_setup_intent(self, customer_id: str, key: str) -> StripeSetupIntent:
        async with _mapped_errors():
            created = await self._v1.setup_intents.create_async(
                {"customer": customer_id, "usage": "off_session", "allowed_payment_method_types": ["card"]},
                {"idempotency_key": key},
            )
            return _setup_intent(created)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> StripeSetupIntent:
        async with _mapped_errors():
            return _setup_intent(await self._v1.setup_intents.retrieve_async(setup_intent_id))

    async def card_summary(self, payment_method_id: str) -> CardSummary:
        async with _mapped_errors():
            d = (await self._v1.payment_methods.retrieve_async(payment_method_id)).to_dict()
        card = d.get("card") or {}
        return CardSummary(
            payment_method_id=d["id"],
            brand=_str(card.get("brand")),
            last4=_str(card.get("last4")),
            exp_month=card.get("exp_month"),
            exp_year=card.get("exp_year"),
        )

    async def set_default_payment_method(self, customer_id: str, payment_method_id: str, key: str) -> None:
        async with _mapped_errors():
            await self._v1.customers.update_async(
                customer_id,
                {"invoice_settings": {"default_payment_method": payment_method_id}},
                {"idempotency_key": key},
            )

    async def add_tax_id(self, customer_id: str, tax_type: str, value: str, key: str) -> StripeTaxId:
        async with _mapped_errors():
            created = await self._v1.customers.tax_ids.create_async(
                customer_id,
                {"type": tax_type, "value": value},
                {"idempotency_key": key},
            )
            return _tax_id(created)

    async def list_tax_ids(self, customer_id: str) -> list[StripeTaxId]:
        async with _mapped_errors():
            page = await self._v1.customers.tax_ids.list_async(customer_id, {"limit": 100})
            return [_tax_id(t) async for t in page.auto_paging_iter()]

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        async with _mapped_errors():
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

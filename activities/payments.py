"""The payment port (what the activities need from a payment provider, its error vocabulary and
idempotency keys) and the billing-details activities: contact and company, the card, tax ids.

`activities.stripe_gateway.StripeGateway` implements it over the Stripe SDK. Every write takes
an idempotency key derived from business ids (GUIDE §2.8), built here so that the keys are
one documented list rather than strings scattered over the adapter.

Errors: a refusal that retrying cannot change is an ``ApplicationError(type=<code>,
non_retryable=True)`` with one of the payment codes of `contracts.errors`; an outage (rate
limit, network, 5xx) is a plain `PaymentProviderUnavailable`, which Temporal retries with the
activity's policy.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.billing_details import (
    AddTaxId,
    BillingDetails,
    CardSetupStarted,
    FinishCardSetup,
    RemoveTaxId,
    StartCardSetup,
    TaxIdView,
)
from contracts.errors import CARD_SETUP_INCOMPLETE
from contracts.payments import (
    CardSummary,
    CustomerDetails,
    NewStripeInvoice,
    NewStripeInvoiceItem,
    StripeInvoice,
    StripeSetupIntent,
    StripeTaxId,
)
from db import invoice_repo as repo


class PaymentProviderUnavailable(Exception):
    """Stripe could not answer now (429, 5xx, network): retryable."""


def _header_safe(key: str) -> str:
    """The key itself when it can travel in an HTTP header (printable ASCII, no edge spaces, <= 255 chars),
    else its digest. Parts come from callers (request ids, workspace ids); keys that were
    already safe keep their value, so idempotency holds across this rule's introduction."""
    if len(key) <= 255 and key.isascii() and key.isprintable() and key == key.strip():
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def customer_key(workspace_id: str) -> str:
    return _header_safe(f"customer:{workspace_id}:create")


def invoice_key(number: str, step: str) -> str:
    """``invoice:{number}:create|finalize|void|item:{position}|pay:{attempt}``."""
    return f"invoice:{number}:{step}"


def setup_key(workspace_id: str, request_id: str) -> str:
    return _header_safe(f"setup:{workspace_id}:{request_id}")


def default_card_key(workspace_id: str, payment_method_id: str) -> str:
    return _header_safe(f"customer:{workspace_id}:default_pm:{payment_method_id}")


def tax_id_key(workspace_id: str, request_id: str) -> str:
    # Per request, not per value: re-adding a deleted value must create it again.
    return _header_safe(f"customer:{workspace_id}:tax_id:{request_id}")


class PaymentGateway(Protocol):
    """What the invoice and billing-details activities need from a payment provider."""

    async def ensure_customer(self, customer_id: str | None, details: CustomerDetails) -> str:
        """Return the customer's id: ``customer_id`` brought up to date with ``details``, or a
        new customer (key ``customer:{workspace_id}:create``)."""
        ...

    async def create_invoice(self, invoice: NewStripeInvoice) -> StripeInvoice:
        """A draft invoice (key ``invoice:{number}:create``), no pending items swept in."""
        ...

    async def add_invoice_item(self, item: NewStripeInvoiceItem) -> str:
        """Add one line to a draft (key ``invoice:{number}:item:{position}``); the item id."""
        ...

    async def finalize_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        """Draft -> open (key ``invoice:{number}:finalize``)."""
        ...

    async def pay_invoice(self, number: str, invoice_id: str, attempt: int) -> StripeInvoice:
        """Charge off-session with the default card (key ``invoice:{number}:pay:{attempt}``).

        Raises:
            ApplicationError: ``card_declined`` with ``{code, decline_code, message}`` details.
        """
        ...

    async def retrieve_invoice(self, invoice_id: str) -> StripeInvoice: ...

    async def void_invoice(self, number: str, invoice_id: str) -> StripeInvoice:
        """Open -> void (key ``invoice:{number}:void``)."""
        ...

    async def delete_draft_invoice(self, invoice_id: str) -> None:
        """Delete a draft that was never finalized (Stripe cannot void a draft)."""
        ...

    async def create_setup_intent(self, customer_id: str, key: str) -> StripeSetupIntent: ...

    async def retrieve_setup_intent(self, setup_intent_id: str) -> StripeSetupIntent: ...

    async def card_summary(self, payment_method_id: str) -> CardSummary: ...

    async def set_default_payment_method(
        self, customer_id: str, payment_method_id: str, key: str
    ) -> None: ...

    async def add_tax_id(self, customer_id: str, tax_type: str, value: str, key: str) -> StripeTaxId: ...

    async def list_tax_ids(self, customer_id: str) -> list[StripeTaxId]: ...

    async def delete_tax_id(self, customer_id: str, tax_id: str) -> None:
        """Delete; an id Stripe no longer has counts as deleted."""
        ...


async def workspace_customer(
    sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway, workspace_id: str
) -> str:
    """The workspace's Stripe customer id, created on first use and kept up to date.

    The billing profile row stays locked across the Stripe call so that two invoices of one
    workspace pushed at once create one customer, not two.
    """
    async with sessions.begin() as session:
        profile = await repo.lock_profile(session, workspace_id)
        email = profile.billing_email
        business = profile.company_name if profile.purchasing_as_business else None
        details = CustomerDetails(
            workspace_id=workspace_id,
            email=email,
            name=profile.company_name,
            business_name=business,
            country=profile.country,
        )
        customer_id = await gateway.ensure_customer(profile.stripe_customer_id, details)
        if customer_id != profile.stripe_customer_id:
            await repo.update_profile(session, workspace_id, {"stripe_customer_id": customer_id})
        return customer_id


# --- billing details (SPEC §3) -------------------------------------------------------------
#
# The card is set through a Stripe SetupIntent: `start_card_setup` returns the client secret the
# browser confirms with Stripe.js; `finish_card_setup` makes the confirmed card the customer's
# default and stores its summary only. Tax ids live in Stripe; ``tax_ids`` mirrors them.


def _tax_view(t: StripeTaxId) -> TaxIdView:
    return TaxIdView(stripe_tax_id=t.id, type=t.type, value=t.value, country=t.country, created_at=t.created)


def _tax_row(workspace_id: str, t: StripeTaxId) -> dict[str, object]:
    return {
        "stripe_tax_id": t.id,
        "workspace_id": workspace_id,
        "type": t.type,
        "value": t.value,
        "country": t.country,
        "created_at": t.created,
    }


class BillingDetailsActivities:
    """Billing details of a workspace (register on the Stripe task queue)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway

    @activity.defn(name="save_billing_details")
    async def save_billing_details(self, details: BillingDetails) -> None:
        """Store contact email, company, "purchasing as a business" and country; an existing
        Stripe customer is brought up to date (a new one gets them when first created)."""
        values = details.model_dump(exclude={"workspace_id"})
        async with self._sessions.begin() as session:
            profile = await repo.lock_profile(session, details.workspace_id)
            await repo.update_profile(session, details.workspace_id, values)
            has_customer = profile.stripe_customer_id is not None
        if has_customer:
            await workspace_customer(self._sessions, self._gateway, details.workspace_id)

    @activity.defn(name="start_card_setup")
    async def start_card_setup(self, request: StartCardSetup) -> CardSetupStarted:
        """A SetupIntent for an off-session card (one per ``request_id``)."""
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        intent = await self._gateway.create_setup_intent(
            customer, setup_key(request.workspace_id, request.request_id)
        )
        assert intent.client_secret is not None
        return CardSetupStarted(setup_intent_id=intent.id, client_secret=intent.client_secret)

    @activity.defn(name="finish_card_setup")
    async def finish_card_setup(self, request: FinishCardSetup) -> CardSummary:
        """Make the SetupIntent's confirmed card the default and store its summary.

        Raises:
            ApplicationError: ``card_setup_incomplete`` (non-retryable) when the SetupIntent
                has not succeeded or belongs to another customer.
        """
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        intent = await self._gateway.retrieve_setup_intent(request.setup_intent_id)
        if intent.status != "succeeded" or intent.payment_method is None or intent.customer != customer:
            raise ApplicationError(
                f"setup intent {intent.id} is {intent.status}", type=CARD_SETUP_INCOMPLETE, non_retryable=True
            )
        card = await self._gateway.card_summary(intent.payment_method)
        key = default_card_key(request.workspace_id, card.payment_method_id)
        await self._gateway.set_default_payment_method(customer, card.payment_method_id, key)
        values = {
            "default_payment_method": card.payment_method_id,
            "card_brand": card.brand,
            "card_last4": card.last4,
            "card_exp_month": card.exp_month,
            "card_exp_year": card.exp_year,
        }
        async with self._sessions.begin() as session:
            await repo.update_profile(session, request.workspace_id, values)
        return card

    @activity.defn(name="add_tax_id")
    async def add_tax_id(self, request: AddTaxId) -> TaxIdView:
        """Add a tax id in Stripe and mirror it.

        Raises:
            ApplicationError: ``stripe_invalid_request`` (non-retryable) for a malformed value
                or unsupported type; its details carry Stripe's code (``tax_id_invalid``).
        """
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        key = tax_id_key(request.workspace_id, request.request_id)
        created = await self._gateway.add_tax_id(customer, request.type, request.value, key)
        async with self._sessions.begin() as session:
            await repo.upsert_tax_id(session, _tax_row(request.workspace_id, created))
        return _tax_view(created)

    @activity.defn(name="list_tax_ids")
    async def list_tax_ids(self, workspace_id: str) -> list[TaxIdView]:
        """Stripe's tax ids of the workspace, oldest first; the mirror is replaced by them."""
        customer = await workspace_customer(self._sessions, self._gateway, workspace_id)
        found = sorted(await self._gateway.list_tax_ids(customer), key=lambda t: (t.created, t.id))
        async with self._sessions.begin() as session:
            await repo.delete_tax_ids(session, workspace_id, keep=[t.id for t in found])
            for t in found:
                await repo.upsert_tax_id(session, _tax_row(workspace_id, t))
        return [_tax_view(t) for t in found]

    @activity.defn(name="remove_tax_id")
    async def remove_tax_id(self, request: RemoveTaxId) -> None:
        """Delete a tax id in Stripe and from the mirror (an unknown id counts as deleted)."""
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        await self._gateway.delete_tax_id(customer, request.stripe_tax_id)
        async with self._sessions.begin() as session:
            await repo.delete_tax_id(session, request.workspace_id, request.stripe_tax_id)

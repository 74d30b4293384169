"""The payment port (what the activities and services need from a payment provider, its error
vocabulary and idempotency keys) and the workspace's Stripe customer.

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

from contracts.payments import (
    CardSummary,
    CustomerDetails,
    NewStripeInvoice,
    NewStripeInvoiceItem,
    StripeInvoice,
    StripeSetupIntent,
    StripeTaxId,
)
from db import profile_repo as repo


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

    async def find_customer(self, workspace_id: str) -> str | None:
        """The customer whose metadata names ``workspace_id`` (the oldest if several), or None."""
        ...

    async def find_invoice(self, number: str) -> StripeInvoice | None:
        """The invoice whose metadata names our ``number`` (the oldest if several), or None."""
        ...

    async def invoice_item_ids(self, number: str, invoice_id: str) -> dict[int, str]:
        """The items already on the invoice, by our line position (from their metadata)."""
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
    sessions: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway,
    workspace_id: str,
    reconcile: bool = False,
    refresh: bool = True,
) -> str:
    """The workspace's Stripe customer id, created on first use and kept up to date.

    The billing profile row stays locked across the Stripe call so that two invoices of one
    workspace pushed at once create one customer, not two. With ``reconcile`` (a retried
    attempt: the previous one may have created the customer and lost the answer after Stripe
    forgot its idempotency key), the customer is first looked up by our workspace id. Without
    ``refresh`` a recorded customer id is returned as it is, with no Stripe request (the
    invoice push: saving billing details already brought the customer up to date).
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
        known = profile.stripe_customer_id
        if known is not None and not refresh:
            return known
        if known is None and reconcile:
            known = await gateway.find_customer(workspace_id)
        customer_id = await gateway.ensure_customer(known, details)
        if customer_id != profile.stripe_customer_id:
            await repo.update_profile(session, workspace_id, {"stripe_customer_id": customer_id})
        return customer_id

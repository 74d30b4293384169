"""Billing details at Stripe: contact and company, the card (SetupIntent flow), tax ids.

The card is set through a Stripe SetupIntent: `start_card_setup` returns the client secret the
browser confirms with Stripe.js; `finish_card_setup` makes the confirmed card the customer's
default and stores its summary only. Tax ids live in Stripe; ``tax_ids`` mirrors them.

Errors are the payment port's (`activities.payments`): a refusal is an ``ApplicationError``
with a stable type, an outage `PaymentProviderUnavailable`; `BillingDetailsService` maps them.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.payments import (
    PaymentGateway,
    default_card_key,
    setup_key,
    tax_id_key,
    workspace_customer,
)
from contracts.errors import CARD_SETUP_INCOMPLETE
from contracts.payments import CardSummary, StripeTaxId
from db import profile_repo as repo
from services.payment_messages import (
    AddTaxId,
    BillingDetails,
    CardSetupStarted,
    FinishCardSetup,
    RemoveTaxId,
    StartCardSetup,
    TaxIdView,
)

_NOT_SET_UP = {
    "requires_payment_method": "the card was declined or its authentication failed: try another card",
    "requires_action": "the card's authentication was not completed",
    "requires_confirmation": "the card was never confirmed",
    "processing": "the bank is still checking it: try again in a minute",
    "canceled": "the card form was cancelled",
}


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


class PaymentDetails:
    """The Stripe side of a workspace's billing details: each step idempotent and keyed by
    business ids (GUIDE §2.8). Run in process by `BillingDetailsService` and the test cards;
    no workflow runs them, so they are not activities."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway

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

    async def start_card_setup(self, request: StartCardSetup) -> CardSetupStarted:
        """A SetupIntent for an off-session card (one per ``request_id``)."""
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        intent = await self._gateway.create_setup_intent(
            customer, setup_key(request.workspace_id, request.request_id)
        )
        assert intent.client_secret is not None
        return CardSetupStarted(setup_intent_id=intent.id, client_secret=intent.client_secret)

    async def finish_card_setup(self, request: FinishCardSetup) -> CardSummary:
        """Make the SetupIntent's confirmed card the default and store its summary.

        Raises:
            ApplicationError: ``card_setup_incomplete`` (non-retryable) when the SetupIntent
                has not succeeded or belongs to another customer.
        """
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        intent = await self._gateway.retrieve_setup_intent(request.setup_intent_id)
        if intent.status != "succeeded" or intent.payment_method is None or intent.customer != customer:
            # The member reads this beside the card field: say what happened, in their words.
            why = _NOT_SET_UP.get(intent.status, f"it is {intent.status}")
            if intent.customer != customer:
                why = "it belongs to another customer"
            raise ApplicationError(
                f"the card was not saved ({why}; setup intent {intent.id}): nothing changed",
                type=CARD_SETUP_INCOMPLETE,
                non_retryable=True,
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

    async def list_tax_ids(self, workspace_id: str) -> list[TaxIdView]:
        """Stripe's tax ids of the workspace, oldest first; the mirror is replaced by them."""
        customer = await workspace_customer(self._sessions, self._gateway, workspace_id)
        found = sorted(await self._gateway.list_tax_ids(customer), key=lambda t: (t.created, t.id))
        async with self._sessions.begin() as session:
            await repo.delete_tax_ids(session, workspace_id, keep=[t.id for t in found])
            for t in found:
                await repo.upsert_tax_id(session, _tax_row(workspace_id, t))
        return [_tax_view(t) for t in found]

    async def remove_tax_id(self, request: RemoveTaxId) -> None:
        """Delete a tax id in Stripe and from the mirror (an unknown id counts as deleted)."""
        customer = await workspace_customer(self._sessions, self._gateway, request.workspace_id)
        await self._gateway.delete_tax_id(customer, request.stripe_tax_id)
        async with self._sessions.begin() as session:
            await repo.delete_tax_id(session, request.workspace_id, request.stripe_tax_id)

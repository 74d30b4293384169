"""Give a workspace one of Stripe's test cards, the way a customer's browser would.

Development, scenarios, tests and benchmarks need workspaces that can (or cannot) pay.
This runs the product's own SetupIntent flow (`services.payment_details.PaymentDetails`), with the
browser's part (Stripe.js confirming the SetupIntent with a card) done through the SDK.
Only test-mode payment methods (``pm_card_visa``, ``pm_card_chargeCustomerFail``, ...)
exist in the emulator and in Stripe's test mode.
"""

from __future__ import annotations

import uuid

import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.payments import PaymentGateway
from contracts.payments import CardSummary
from services.payment_details import PaymentDetails
from services.payment_messages import FinishCardSetup, StartCardSetup


async def give_test_card(
    sessions: async_sessionmaker[AsyncSession],
    gateway: PaymentGateway,
    browser: stripe.StripeClient,
    workspace_id: str,
    payment_method: str = "pm_card_visa",
) -> CardSummary:
    """Attach the test card ``payment_method`` as the workspace's default and return its summary."""
    details = PaymentDetails(sessions, gateway)
    started = await details.start_card_setup(
        StartCardSetup(workspace_id=workspace_id, request_id=uuid.uuid4().hex)
    )
    await browser.v1.setup_intents.confirm_async(started.setup_intent_id, {"payment_method": payment_method})
    finish = FinishCardSetup(workspace_id=workspace_id, setup_intent_id=started.setup_intent_id)
    return await details.finish_card_setup(finish)

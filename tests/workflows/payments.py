"""Cards and charges of test workspaces, through the Stripe emulator.

A card is given the SPEC way (SetupIntent created by us, confirmed as the browser would,
finished by us), so the subscription's invoice workflows collect against it for real.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.stripe_gateway import StripeGateway, stripe_client
from contracts.payments import CardSummary
from db.engine import session_factory
from devstack.test_cards import give_test_card

API_KEY = "sk_test_tenure_workflows"


@dataclass
class Payments:
    """The emulator at ``url`` as the tests' payer and auditor."""

    url: str
    engine: AsyncEngine

    def gateway(self) -> StripeGateway:
        """The adapter the worker's Stripe activities use."""
        return StripeGateway(stripe_client(API_KEY, self.url, timeout_s=5))

    def raw(self) -> stripe.StripeClient:
        """The SDK as the browser (Stripe.js) or an auditor would use it."""
        return stripe.StripeClient(API_KEY, base_addresses={"api": self.url})

    async def give_card(self, workspace_id: str, magic: str = "pm_card_visa") -> CardSummary:
        """Attach the test card ``magic`` as the workspace's default payment method."""
        sessions = session_factory(self.engine)
        return await give_test_card(sessions, self.gateway(), self.raw(), workspace_id, magic)

    def stripe_invoices(self, workspace_id: str) -> list[dict[str, object]]:
        """The workspace's invoices in Stripe (our number is in their metadata)."""
        found = [i.to_dict() for i in self.raw().v1.invoices.list({"limit": 100}).auto_paging_iter()]
        return [i for i in found if str(i.get("metadata", {}).get("number", "")).startswith(workspace_id)]

    def charges(self, workspace_id: str) -> dict[str, int]:
        """How many times each of the workspace's invoices was paid in Stripe (``invoice.paid``)."""
        counts: dict[str, int] = {}
        for event in self.raw().v1.events.list({"type": "invoice.paid", "limit": 100}).auto_paging_iter():
            number = str(event.to_dict()["data"]["object"].get("metadata", {}).get("number", ""))
            if number.startswith(workspace_id):
                counts[number] = counts.get(number, 0) + 1
        return counts

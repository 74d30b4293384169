"""The benchmark's Stripe side: one test key, the Stripe task queue's name, test cards.

Every benchmark workspace gets a ``pm_card_visa`` card before its subscription starts: a
workspace without one has its invoices declined and dunned, which is not the workload the
benchmark measures.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.stripe_gateway import StripeGateway, stripe_client
from db.engine import session_factory
from devstack.test_cards import give_test_card

# The emulator accepts any test key; the worker (charging) and the load client (confirming
# cards as a browser would) use the same one.
STRIPE_API_KEY = "sk_test_tenure_bench"


def stripe_queue(task_queue: str) -> str:
    """The Stripe task queue that goes with a benchmark's main task queue."""
    return f"{task_queue}-stripe"


def gateway(emulator_url: str) -> StripeGateway:
    """The adapter the worker's activities use, pointed at the emulator."""
    return StripeGateway(stripe_client(STRIPE_API_KEY, emulator_url, timeout_s=5))


@dataclass
class Cards:
    """Gives workspaces test cards through the emulator at ``url``, the product's SetupIntent way."""

    url: str
    engine: AsyncEngine

    def __post_init__(self) -> None:
        self._gateway = gateway(self.url)
        self._browser = stripe.StripeClient(STRIPE_API_KEY, base_addresses={"api": self.url})

    async def give(self, workspace_id: str) -> None:
        """Attach ``pm_card_visa`` as the workspace's default payment method."""
        await give_test_card(session_factory(self.engine), self._gateway, self._browser, workspace_id)

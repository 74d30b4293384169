"""Declines as Stripe has them, told through `tenure simulate`: a card whose bank wants 3-D
Secure is charged once, then the invoice waits for the customer on its hosted page (no blind
retries), the overview and an e-mail say so, and a new card pays at once."""

from __future__ import annotations

from typing import Any

from simulate.runner import simulate
from simulate.scenario import parse_scenario
from simulate.stack import Stack

STORY = """\
catalog: seats
start: 2026-09-03T09:00:00Z
end: {end}
workspace:
  id: acme
  card: needs_authentication
  members:
    - {{user: alice, role: admin, role_granted_at: 2026-01-05T00:00:00Z}}
steps:
  - at: 2026-09-03T09:00:00Z
    assign_seat: {{user: alice, type: pro}}
{more}"""


def _failures(doc: dict[str, Any]) -> list[tuple[str, str | None]]:
    # Days, not seconds: the time-skipping server may stamp an instant a second late.
    return [(e["at"][:10], e.get("code")) for e in doc["timeline"] if e["event"] == "payment_failed"]


async def test_a_card_that_needs_authentication_is_charged_once_and_waits_for_the_customer(
    stack: Stack,
) -> None:
    # The Pro seat's 3000 is posted at 10:00 and charged: the bank asks for 3-D Secure.
    doc = await simulate(
        parse_scenario(STORY.format(end="2026-09-09T00:00:00Z", more="")), stack, stable=True
    )
    assert _failures(doc) == [("2026-09-03", "authentication_required")]  # no retry on days 3 and 5
    assert [(i["total"], i["status"]) for i in doc["invoices"]] == [(3000, "unpaid")]
    [warning] = [w for w in doc["final"]["overview"]["warnings"] if "customer's action" in w]
    assert "/hosted/invoices/" in warning  # the hosted page, where the customer authenticates


async def test_a_new_card_pays_the_waiting_invoice_at_once(stack: Stack) -> None:
    more = "  - at: 2026-09-05T12:00:00Z\n    payment_method: {card: ok}\n"
    doc = await simulate(
        parse_scenario(STORY.format(end="2026-09-09T00:00:00Z", more=more)), stack, stable=True
    )
    assert [(i["total"], i["status"]) for i in doc["invoices"]] == [(3000, "paid")]
    paid = [e["at"][:13] for e in doc["timeline"] if e["event"] == "invoice_paid"]
    assert paid == ["2026-09-05T12"]
    assert not [w for w in doc["final"]["overview"]["warnings"] if "customer's action" in w]

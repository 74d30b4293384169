"""What the overview tells a billing admin (SPEC §5): failed payments from the first attempt,
and the paid seats of the credits catalog."""

from __future__ import annotations

from billing import on_invoice_event
from billing.overview import overview
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t


def test_a_first_failed_payment_warns_with_the_next_retry_date() -> None:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin"}, autopay=False)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.tick(t(2026, 9, 3, 10))
    number = d.invoices[0].number
    assert overview(d.state, SEATS, t(2026, 9, 3, 10)).warnings == ()
    d.state = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 3, 10), SEATS).state
    # Issued Sep 3 09:00; retries 3, 5 and 7 days after issue: the next is Sep 6.
    assert overview(d.state, SEATS, t(2026, 9, 4)).warnings == (
        f"Payment failed: invoice {number} could not be collected. Next attempt on 2026-09-06.",
    )
    d.tick(t(2026, 9, 10, 9))  # 7 days after issue: Overdue, one attempt left that day
    assert overview(d.state, SEATS, t(2026, 9, 10, 10)).warnings == (
        f"Payment failed: invoice {number} is overdue. No attempt is left.",
    )


def test_credits_paid_seats_are_the_members_with_a_paid_role() -> None:
    team = {"olga": "org_admin", "al": "admin", "ed": "editor", "vic": "viewer"}
    d = Driver(CREDITS, t(2026, 9, 15, 10), team)
    view = overview(d.state, CREDITS, t(2026, 9, 16))
    assert (view.paid_seat_count, view.seat_limit) == (3, None)  # no plan yet: no limit
    d.run(t(2026, 9, 20), "select_plan", plan="starter")
    view = overview(d.state, CREDITS, t(2026, 9, 21))
    assert (view.paid_seat_count, view.seat_limit) == (3, 3)

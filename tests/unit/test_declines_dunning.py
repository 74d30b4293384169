"""Declines as Stripe has them: the code reaches the timeline; 3-D Secure waits for the customer."""

from __future__ import annotations

import pytest

from billing import on_invoice_event
from billing.effects import RecordEvent, SendEmail
from billing.invoicing.dunning import needs_customer_action
from billing.overview import overview
from tests.unit.billing_helpers import SEATS, Driver, t

URL = "https://pay.example.test/in_1"


def unpaid_seats() -> Driver:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", "bob": "member"}, autopay=False)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.tick(t(2026, 9, 3, 10))  # the invoice is posted
    return d


@pytest.mark.parametrize(
    ("code", "waits"),
    [
        ("authentication_required", True),
        ("insufficient_funds", False),
        ("expired_card", False),
        ("incorrect_cvc", False),
        ("generic_decline", False),
        (None, False),
    ],
)
def test_only_authentication_required_waits_for_the_customer(code: str | None, waits: bool) -> None:
    assert needs_customer_action(code) is waits


@pytest.mark.parametrize("code", ["insufficient_funds", "expired_card", "incorrect_cvc"])
def test_a_decline_is_in_the_timeline_and_follows_the_retry_schedule(code: str) -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    failed = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 3, 10), SEATS, code=code)
    recorded, email = failed.effects
    assert isinstance(recorded, RecordEvent)
    assert (recorded.event, recorded.data) == ("payment_failed", {"number": number, "code": code})
    assert isinstance(email, SendEmail)
    assert (email.template, email.data["next_retry_at"]) == ("payment_failed", "2026-09-06T09:00:00+00:00")
    [ref] = failed.state.invoices
    assert (ref.decline_code, ref.action_required) == (code, False)
    [warning] = overview(failed.state, SEATS, t(2026, 9, 4)).warnings
    assert warning == f"Payment failed: invoice {number} could not be collected. Next attempt on 2026-09-06."


def test_authentication_required_asks_the_customer_to_act_on_the_hosted_page() -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    failed = on_invoice_event(
        d.state,
        number,
        "payment_failed",
        t(2026, 9, 3, 10),
        SEATS,
        code="authentication_required",
        action_url=URL,
    )
    recorded, email = failed.effects
    assert isinstance(recorded, RecordEvent)
    assert recorded.data == {"number": number, "code": "authentication_required"}
    assert isinstance(email, SendEmail)
    assert email.template == "payment_action_required"
    assert email.to_role == "billing_contact"  # the contact, else every active billing admin
    assert email.data == {"number": number, "code": "authentication_required", "hosted_invoice_url": URL}
    [ref] = failed.state.invoices
    assert (ref.action_required, ref.action_url, ref.status) == (True, URL, "unpaid")
    [warning] = overview(failed.state, SEATS, t(2026, 9, 4)).warnings
    assert "needs the customer's action" in warning
    assert URL in warning
    assert "not retried automatically" in warning


def test_a_later_generic_decline_clears_the_wait_and_paying_settles_it() -> None:
    """A new card that declines differently goes back to the schedule; a payment ends it all."""
    d = unpaid_seats()
    number = d.invoices[0].number
    auth = on_invoice_event(
        d.state, number, "payment_failed", t(2026, 9, 3, 10), SEATS, code="authentication_required"
    )
    again = on_invoice_event(
        auth.state, number, "payment_failed", t(2026, 9, 5), SEATS, code="insufficient_funds"
    )
    [ref] = again.state.invoices
    assert (ref.action_required, ref.action_url, ref.decline_code) == (False, None, "insufficient_funds")
    paid = on_invoice_event(auth.state, number, "paid", t(2026, 9, 5), SEATS)
    assert overview(paid.state, SEATS, t(2026, 9, 6)).warnings == ()


def test_a_failure_without_a_code_is_recorded_as_before() -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    failed = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 3, 10), SEATS)
    recorded = failed.effects[0]
    assert isinstance(recorded, RecordEvent)
    assert recorded.data == {"number": number}

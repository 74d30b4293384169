"""The e-mails the rules ask for, with the data their templates need (docs/email.md)."""

from __future__ import annotations

from billing import SendEmail, on_invoice_event
from billing.overview import email_warning
from tests.unit.billing_helpers import SEATS, Driver, t


def _emails(effects: list[object], template: str) -> list[SendEmail]:
    return [e for e in effects if isinstance(e, SendEmail) and e.template == template]


def _unpaid() -> Driver:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", "bob": "member"}, autopay=False)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.tick(t(2026, 9, 3, 10))  # the draft window ends: the invoice is posted
    return d


def test_payment_failed_names_the_next_attempt_and_says_when_none_is_left() -> None:
    d = _unpaid()
    number = d.invoices[0].number
    first = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 3, 10), SEATS)
    [email] = _emails(list(first.effects), "payment_failed")
    assert email.data == {"number": number, "next_retry_at": "2026-09-06T09:00:00+00:00"}
    last = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 10, 9), SEATS)
    [email] = _emails(list(last.effects), "payment_failed")
    assert email.data["next_retry_at"] is None


def test_a_paid_invoice_sends_one_receipt_with_its_total() -> None:
    d = _unpaid()
    ref = d.state.invoices[0]
    paid = on_invoice_event(d.state, ref.number, "paid", t(2026, 9, 4), SEATS)
    [email] = _emails(list(paid.effects), "receipt")
    assert email.data == {
        "number": ref.number,
        "total": ref.total,
        "currency": SEATS.currency,
        "paid_at": "2026-09-04T00:00:00+00:00",
    }
    again = on_invoice_event(paid.state, ref.number, "paid", t(2026, 9, 5), SEATS)
    assert again.effects == []


def test_cancellation_names_its_end_and_reactivation_welcomes_back() -> None:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", "bob": "member"})
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    cancel = d.run(t(2026, 10, 10), "cancel", reason="too expensive")
    [email] = _emails(list(cancel.effects), "cancel_requested")
    assert email.data == {"ends_at": "2026-11-03T00:00:00+00:00"}
    undo = d.run(t(2026, 10, 11), "reactivate")
    [email] = _emails(list(undo.effects), "reactivated")
    assert email.data["period_end"] == "2026-11-03T00:00:00+00:00"
    d.run(t(2026, 10, 12), "cancel", reason=None)
    d.tick(t(2026, 11, 3))
    assert d.status == "free"
    back = d.run(t(2026, 12, 7, 8), "reactivate")
    [email] = _emails(list(back.effects), "reactivated")
    assert email.data["period_end"] == "2027-01-07T00:00:00+00:00"


def test_the_overview_words_each_kind_of_undelivered_email() -> None:
    assert email_warning("payment_failed", ["a@x.test"], "refused: 550 5.1.1 no such user", False) == (
        "An e-mail (payment failed) to a@x.test was refused: 550 5.1.1 no such user"
    )
    assert email_warning("receipt", ["a@x.test"], "refused: b@x.test: 550 disabled", True) == (
        "An e-mail (receipt) reached a@x.test but was refused: b@x.test: 550 disabled"
    )
    assert email_warning("receipt", [], "cannot render 'receipt': 'number' is undefined", False) == (
        "An e-mail (receipt) could not be sent: cannot render 'receipt': 'number' is undefined"
    )
    assert email_warning("trial_expired", [], "no recipient: nobody", False).startswith(
        "The trial expired e-mail could not be sent: nobody to write to"
    )

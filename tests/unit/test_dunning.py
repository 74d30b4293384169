"""Invoice facts and dunning (SPEC §1.4, §3)."""

from __future__ import annotations

import pytest

from billing import (
    BillingState,
    DomainError,
    RevertWorkspace,
    dunning_schedule,
    on_invoice_event,
    overdue_at,
)
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t


def unpaid_seats() -> Driver:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", "bob": "member"}, autopay=False)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.tick(t(2026, 9, 3, 10))  # the draft window ends: the invoice is posted
    return d


def test_draft_is_issued_when_drafted_and_posted_an_hour_later() -> None:
    d = unpaid_seats()
    ref = d.state.invoices[0]
    assert ref.issued_at == d.invoices[0].issued_at == t(2026, 9, 3, 9)
    assert ref.overdue_at == t(2026, 9, 10, 9)  # dunning counts from the issue
    posted = [e for e in d.events if e.event == "invoice_posted"]
    assert [e.at for e in posted] == [t(2026, 9, 3, 10)]


def test_schedule() -> None:
    issued = t(2026, 9, 3, 9)
    assert dunning_schedule(issued, SEATS) == [t(2026, 9, 6, 9), t(2026, 9, 8, 9), t(2026, 9, 10, 9)]
    assert overdue_at(issued, SEATS) == t(2026, 9, 10, 9)


def test_unpaid_invoice_becomes_overdue_then_paid_restores_active() -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    d.tick(t(2026, 9, 10, 8))
    assert d.status == "active"
    d.tick(t(2026, 9, 10, 9))
    assert d.status == "past_due"
    assert d.state.invoices[0].status == "overdue"
    assert "invoice_overdue" in d.event_names()
    paid = on_invoice_event(d.state, number, "paid", t(2026, 9, 11), SEATS)
    assert paid.state.status == "active"
    again = on_invoice_event(paid.state, number, "paid", t(2026, 9, 11), SEATS)
    assert again.effects == []
    assert again.state == paid.state


def test_payment_failed_emails_and_changes_nothing_else() -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    failed = on_invoice_event(d.state, number, "payment_failed", t(2026, 9, 6, 9), SEATS)
    # Only the attempt is remembered (the overview warns from it); status and money stay.
    [ref] = failed.state.invoices
    assert ref.payment_failed_at == t(2026, 9, 6, 9)
    assert failed.state.model_copy(update={"invoices": d.state.invoices}) == d.state
    assert [e.kind for e in failed.effects] == ["record_event", "send_email"]


def test_final_failure_reverts_seats_to_free_and_the_invoice_stays_owed() -> None:
    d = unpaid_seats()
    number = d.invoices[0].number
    final = on_invoice_event(d.state, number, "final_failure", t(2026, 9, 10, 9), SEATS)
    assert final.state.status == "free"
    assert any(isinstance(e, RevertWorkspace) for e in final.effects)
    assert final.state.invoices[0].status == "overdue"


def test_final_failure_keeps_credits_past_due() -> None:
    d = Driver(CREDITS, t(2026, 8, 1), {"olga": "org_admin"}, autopay=False)
    d.run(t(2026, 8, 2), "select_plan", plan="solo")
    d.tick(t(2026, 10, 1))
    number = d.invoices[0].number
    final = on_invoice_event(d.state, number, "final_failure", t(2026, 10, 8), CREDITS)
    assert final.state.status == "past_due"
    voided = on_invoice_event(final.state, number, "voided", t(2026, 10, 9), CREDITS)
    assert voided.state.status == "active"


def test_unknown_invoice() -> None:
    d = unpaid_seats()
    with pytest.raises(DomainError, match="invoice_not_found"):
        on_invoice_event(d.state, "nope", "paid", t(2026, 9, 4), SEATS)


def test_state_round_trips_through_json() -> None:
    d = unpaid_seats()
    d.run(t(2026, 9, 20), "assign_seat", user="bob", type="max", cycle="annual")
    d.run(t(2026, 9, 22), "cancel", reason="budget")
    dumped = d.state.model_dump(mode="json")
    assert BillingState.model_validate(dumped) == d.state
    drafted = Driver(SEATS, t(2026, 9, 1), {"alice": "admin"})
    drafted.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    assert drafted.state.open_invoice is not None  # a draft survives continue-as-new
    assert BillingState.model_validate(drafted.state.model_dump(mode="json")) == drafted.state

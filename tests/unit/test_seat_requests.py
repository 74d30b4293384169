"""Buying more seats under a contract: an admin requests, sales (staff) approve, the seats are
charged at the contract's unit price."""

from __future__ import annotations

import pytest

from billing import DomainError, Period, UsageTotals
from billing.overview import overview
from tests.unit.billing_helpers import SEATS, Driver, t

CONTRACT = Period(start=t(2026, 9, 10), end=t(2027, 9, 10))


def _enterprise() -> Driver:
    d = Driver(SEATS, t(2026, 9, 3, 9), {"alice": "admin", "carol": "member"}, {CONTRACT: UsageTotals()})
    d.run(
        t(2026, 9, 10),
        "set_contract",
        actor="staff:sam",
        plan="enterprise",
        starts_at=CONTRACT.start,
        ends_at=CONTRACT.end,
        price=1_200_000,
        seat_unit_price=40_000,
    )
    d.tick(t(2026, 9, 10, 2))  # the contract price posts
    return d


def test_requested_seats_are_charged_once_approved() -> None:
    d = _enterprise()
    invoices = len(d.invoices)
    asked = d.run(t(2026, 10, 1), "request_seats", actor="alice", quantity=3, reason="new team")
    assert asked.result is not None
    request_id = asked.result.request_id
    assert len(d.invoices) == invoices  # nothing charged before sales confirm
    [pending] = overview(d.state, SEATS, t(2026, 10, 1)).seat_requests
    assert (pending.quantity, pending.status, pending.note) == (3, "pending", "new team")

    d.run(t(2026, 10, 2), "approve_seats", actor="staff:sam", request=request_id)
    d.tick(t(2026, 10, 2, 2))
    [seat_line] = d.invoices[-1].lines
    assert (seat_line.kind, seat_line.quantity, seat_line.unit_amount, seat_line.amount) == (
        "seat",
        3,
        40_000,
        120_000,
    )
    assert [r.status for r in d.state.seat_requests] == ["approved"]
    assert "seats_requested" in d.event_names()
    assert "seats_approved" in d.event_names()
    with pytest.raises(DomainError, match="seat_request_not_found"):
        d.run(t(2026, 10, 3), "approve_seats", actor="staff:sam", request=request_id)


@pytest.mark.parametrize(
    ("kind", "fields", "code"),
    [
        ("request_seats", {"actor": "carol", "quantity": 2}, "forbidden"),
        ("request_seats", {"actor": "alice", "quantity": 0}, "validation"),
        ("approve_seats", {"actor": "alice", "request": "r1"}, "forbidden"),
        ("approve_seats", {"actor": "staff:sam", "request": "nope"}, "seat_request_not_found"),
    ],
)
def test_refusals(kind: str, fields: dict[str, object], code: str) -> None:
    d = _enterprise()
    before = d.state
    with pytest.raises((DomainError, ValueError), match=code):
        d.run(t(2026, 10, 1), kind, **fields)
    assert d.state.seat_requests == before.seat_requests


def test_no_contract_no_seat_request() -> None:
    d = Driver(SEATS, t(2026, 9, 3, 9), {"alice": "admin"})
    d.run(t(2026, 9, 3, 9), "assign_seat", actor="alice", user="alice", type="pro")
    with pytest.raises(DomainError, match="not_allowed_in_status"):
        d.run(t(2026, 9, 4), "request_seats", actor="alice", quantity=1)

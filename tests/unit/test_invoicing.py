"""Invoice composition: the credit balance rule, usage windows, data-source deletions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from billing import (
    DeleteDataSource,
    DomainError,
    Period,
    ReactivateWorkspace,
    ScheduledDeletion,
    advance,
    calendar_month,
    schedule_data_source_deletions,
    usage_due,
)
from billing.invoicing.charges import seat_item
from billing.invoicing.invoices import line
from billing.invoicing.posting import post_invoice
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t

PERIOD = Period(start=t(2026, 9, 3), end=t(2026, 10, 3))


@pytest.mark.parametrize(
    ("charges", "balance", "total", "balance_line", "carried"),
    [
        ([3000], 0, 3000, None, 0),
        ([3000], 1000, 2000, -1000, 0),
        ([3000, -5000], 0, 0, 2000, 2000),
        ([3000], 5000, 0, -3000, 2000),
        ([-1500], 500, 0, 1500, 2000),
    ],
)
def test_credit_balance_rule(
    charges: list[int], balance: int, total: int, balance_line: int | None, carried: int
) -> None:
    state = Driver(SEATS, t(2026, 9, 1)).state.model_copy(update={"credit_balance": balance})
    lines = [line("seat", seat_item("pro", "monthly"), "x", 1, amount, PERIOD) for amount in charges]
    out = post_invoice(state, SEATS, t(2026, 9, 3), PERIOD, lines)
    invoice = out.effects[0].invoice  # type: ignore[union-attr]
    assert invoice.total == total
    found = [ln.amount for ln in invoice.lines if ln.kind == "credit_balance"]
    assert found == ([] if balance_line is None else [balance_line])
    assert out.state.credit_balance == carried


def test_no_line_no_invoice() -> None:
    state = Driver(SEATS, t(2026, 9, 1)).state.model_copy(update={"credit_balance": 700})
    out = post_invoice(state, SEATS, t(2026, 9, 3), PERIOD, [])
    assert out.effects == []
    assert out.state.credit_balance == 700


def test_in_arrears_close_needs_usage_totals() -> None:
    d = Driver(CREDITS, t(2026, 8, 1), {"olga": "org_admin"})
    d.run(t(2026, 8, 2), "select_plan", plan="solo")
    d.tick(t(2026, 8, 31))
    assert usage_due(d.state, t(2026, 10, 1), CREDITS) == [
        Period(start=t(2026, 8, 31), end=t(2026, 9, 1)),
        calendar_month(t(2026, 9, 1)),
    ]
    with pytest.raises(DomainError, match="usage_missing"):
        advance(d.state, t(2026, 9, 1), CREDITS)


def test_data_source_deletion_happens_on_time_unless_reactivated() -> None:
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", "bob": "member"})
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 4), "cancel")
    d.tick(t(2026, 10, 3))
    due = t(2026, 10, 10)
    item = ScheduledDeletion(data_source_id="handbook", bytes=80_000_000, delete_at=due)
    reverted = schedule_data_source_deletions(d.state, [item, item])
    assert len(reverted.data_source_deletions) == 1
    deleted = advance(reverted, due, SEATS)
    assert DeleteDataSource(at=due, data_source_id="handbook") in deleted.effects
    d.state = reverted
    d.run(due - timedelta(days=1), "reactivate")
    restored = [e for e in d.effects if isinstance(e, ReactivateWorkspace)]
    assert restored[-1].cancelled_deletions == ("handbook",)
    assert d.state.data_source_deletions == ()

"""Seats catalog lifecycle (SPEC §1.1, §1.4, §2): table tests of the worked examples."""

from __future__ import annotations

import pytest

from billing import DomainError, RevertWorkspace, seats_held
from tests.unit.billing_helpers import SEATS, Driver, t

TEAM = {"alice": "admin", "bob": "admin", "carol": "member", "dan": "member"}


def seats_driver() -> Driver:
    return Driver(SEATS, t(2026, 9, 1), TEAM)


def test_worked_example_6000_then_10500() -> None:
    """SPEC §1.1, driven as `tenure simulate` does: two assign_seat steps at Sep 3 09:00."""
    d = seats_driver()
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro", cycle="monthly")
    assert d.status == "active"
    assert d.state.plan == "business"
    assert (d.state.period_start, d.state.period_end) == (t(2026, 9, 3), t(2026, 10, 3))
    assert d.invoices == []  # one draft, amended by the second seat
    d.tick(t(2026, 9, 3, 10))
    [sep3] = d.invoices
    assert (sep3.issued_at, sep3.total) == (t(2026, 9, 3, 9), 6000)
    assert [(ln.kind, ln.quantity, ln.unit_amount, ln.amount) for ln in sep3.lines] == [
        ("seat", 2, 3000, 6000)
    ]
    assert (sep3.period_start, sep3.period_end) == (t(2026, 9, 3), t(2026, 10, 3))

    d.run(t(2026, 9, 18, 12), "assign_seat", user="carol", type="pro", cycle="monthly")
    assert len(d.invoices) == 1  # the added seat is charged on the next invoice
    d.tick(t(2026, 10, 3, 1))
    oct3 = d.invoices[-1]
    assert (oct3.issued_at, oct3.total) == (t(2026, 10, 3), 10500)
    assert [(ln.kind, ln.quantity, ln.unit_amount, ln.amount) for ln in oct3.lines] == [
        ("seat", 3, 3000, 9000),
        ("seat_proration", 1, 1500, 1500),
    ]
    proration = oct3.lines[1]
    assert (proration.period_start, proration.period_end) == (t(2026, 9, 18), t(2026, 10, 3))
    assert (oct3.period_start, oct3.period_end) == (t(2026, 10, 3), t(2026, 11, 3))
    assert [inv.number for inv in d.invoices] == ["acme-00001", "acme-00002"]


def test_checkout_with_one_seat_is_one_full_period() -> None:
    d = seats_driver()
    decision = d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro", cycle="monthly")
    assert decision.result is not None
    assert decision.result.invoice_number is None  # drafted: numbered when it posts
    assert d.state.open_invoice is not None
    assert d.state.open_invoice.finalize_at == t(2026, 9, 3, 10)
    d.tick(t(2026, 9, 3, 10))
    assert d.invoices[0].total == 3000
    assert d.state.open_invoice is None
    assert d.state.anchor == t(2026, 9, 3)


def test_annual_seat_checkout_bills_the_term() -> None:
    d = seats_driver()
    d.run(t(2027, 1, 31, 15), "assign_seat", user="alice", type="max", cycle="annual")
    d.tick(t(2027, 1, 31, 16))
    inv = d.invoices[0]
    assert inv.total == 102000
    assert inv.lines[0].period_end == t(2028, 1, 31)
    d.tick(t(2027, 3, 31))  # two renewals: Feb 28, Mar 31; no monthly seat, nothing to bill
    assert len(d.invoices) == 1
    assert d.state.period_start == t(2027, 3, 31)
    d.tick(t(2028, 1, 31, 1))
    assert d.invoices[-1].total == 102000  # the next term


def test_removing_a_monthly_seat_credits_unused_days() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 3), "assign_seat", user="bob", type="pro", cycle="monthly")
    d.run(t(2026, 9, 23, 18), "unassign_seat", user="bob")  # Sep 23..Oct 2 = 10 days
    d.tick(t(2026, 10, 3, 1))
    oct3 = d.invoices[-1]
    assert [(ln.kind, ln.amount) for ln in oct3.lines] == [("seat", 3000), ("seat_credit", -1000)]
    assert oct3.total == 2000


def test_negative_total_posts_zero_and_carries_a_balance() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="max", cycle="monthly")
    d.run(t(2026, 9, 3), "assign_seat", user="bob", type="max", cycle="monthly")
    d.run(t(2026, 9, 3), "assign_seat", user="carol", type="pro", cycle="monthly")
    d.run(t(2026, 9, 4), "unassign_seat", user="alice")  # credit 29/30 * 10000 = 9667
    d.run(t(2026, 9, 4), "unassign_seat", user="bob")  # another 9667
    d.tick(t(2026, 10, 3, 1))
    oct3 = d.invoices[-1]
    assert oct3.total == 0
    assert oct3.lines[-1].kind == "credit_balance"
    assert d.state.credit_balance == 2 * 9667 - 3000
    d.tick(t(2026, 11, 3, 1))
    assert d.invoices[-1].total == 0
    assert d.state.credit_balance == 2 * 9667 - 6000


def test_annual_seat_goes_to_stock_and_is_reassignable_after_the_period() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 10), "assign_seat", user="bob", type="pro", cycle="annual")
    accrued = d.state.accrued[-1]
    assert accrued.kind == "seat_proration"
    assert accrued.amount == round(30000 * 358 / 365)  # Sep 10 2026 .. Sep 3 2027
    d.run(t(2026, 9, 20), "unassign_seat", user="bob")
    assert len(d.state.accrued) == 1  # no refund
    assert d.state.seat_stock[0].reassignable_at == t(2026, 10, 3)
    d.run(t(2026, 9, 25), "assign_seat", user="carol", type="pro", cycle="annual")
    assert len(d.state.accrued) == 2  # not yet reassignable: a new seat is bought
    d.run(t(2026, 10, 5), "assign_seat", user="dan", type="pro", cycle="annual")
    assert d.state.seat_stock == ()
    assert "seat_stock_released" in d.event_names()


def test_seat_upgrade_now_and_downgrade_at_period_end() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 18), "change_seat", user="alice", type="max")  # 15/30 of 7000
    assert d.state.accrued[-1].amount == 3500
    d.run(t(2026, 9, 20), "change_seat", user="alice", type="pro")
    assert seats_held(d.state)["alice"].seat_type == "max"
    assert d.state.pending_seat_changes[0].effective_at == t(2026, 10, 3)
    d.tick(t(2026, 10, 3, 1))
    assert seats_held(d.state)["alice"].seat_type == "pro"
    assert d.invoices[-1].total == 3000 + 3500


def test_cancel_then_revert_keeps_the_earliest_admin() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 2), "set_role", user="alice", role="member")
    d.run(t(2026, 9, 2), "set_role", user="alice", role="admin")  # alice's grant restarts
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 10, 10), "cancel", reason="too expensive")
    assert d.status == "canceling"
    assert d.state.cancel_at == t(2026, 11, 3)
    d.tick(t(2026, 11, 3))
    assert d.status == "free"
    reverts = [e for e in d.effects if isinstance(e, RevertWorkspace)]
    assert reverts[0].kept_member == "bob"
    assert d.state.members["alice"].status == "suspended"
    assert d.state.members["bob"].status == "active"
    assert "reverted_to_free" in d.event_names()
    # reactivation: new period anchored that day, the previous seat invoiced in advance
    d.run(t(2026, 12, 7, 8), "reactivate")
    assert d.status == "active"
    assert d.state.anchor == t(2026, 12, 7)
    d.tick(t(2026, 12, 7, 9))
    assert (d.invoices[-1].issued_at, d.invoices[-1].total) == (t(2026, 12, 7, 8), 3000)
    assert d.state.members["alice"].model_dump()["status"] == "active"


def test_clear_cancellation_before_the_end() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 10), "cancel", reason=None)
    d.run(t(2026, 9, 11), "clear_cancellation")
    d.tick(t(2026, 10, 3, 1))
    assert d.status == "active"
    assert d.invoices[-1].total == 3000


def test_business_period_without_paid_seat_reverts() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "assign_seat", user="alice", type="pro", cycle="monthly")
    d.run(t(2026, 9, 13), "unassign_seat", user="alice")
    d.tick(t(2026, 10, 3))
    assert d.status == "free"
    assert d.state.credit_balance == 2000  # the credit of 20 days is kept for later
    assert d.invoices[-1].total == 0


@pytest.mark.parametrize(
    ("setup", "kind", "fields", "code"),
    [
        ([], "assign_seat", {"user": "zed", "type": "pro"}, "member_not_found"),
        ([], "assign_seat", {"user": "alice", "type": "gold"}, "seat_type_not_found"),
        ([], "unassign_seat", {"user": "alice"}, "seat_not_assigned"),
        ([], "cancel", {}, "not_allowed_in_status"),
        ([], "select_plan", {"plan": "enterprise"}, "not_supported_by_catalog"),
        ([], "delete_workspace", {"confirm": "acme2"}, "confirmation_mismatch"),
        ([], "add_member", {"user": "erin", "role": "owner"}, "invalid_argument"),
        ([], "add_member", {"user": "alice"}, "member_exists"),
        (["eve"], "add_member", {"user": "gus"}, "free_limit_exceeded"),
        ([], "assign_seat", {"user": "bob", "type": "pro", "actor": "carol"}, "forbidden"),
        ([], "extend_trial", {"days": 3, "actor": "alice"}, "forbidden"),
    ],
)
def test_rejections(setup: list[str], kind: str, fields: dict[str, object], code: str) -> None:
    d = seats_driver()
    for user in setup:
        d.run(t(2026, 9, 2), "add_member", user=user)
    before = d.state
    with pytest.raises(DomainError) as info:
        d.run(t(2026, 9, 3), kind, **fields)
    assert info.value.code == code
    assert d.state == before


def test_seat_limit_of_business() -> None:
    roster = {f"u{i:03d}": "member" for i in range(101)}
    d = Driver(SEATS, t(2026, 9, 1), {"alice": "admin", **roster})
    for user in list(roster)[:100]:
        d.run(t(2026, 9, 3), "assign_seat", user=user, type="pro")
    with pytest.raises(DomainError, match="seat_limit_reached"):
        d.run(t(2026, 9, 3), "assign_seat", user="u100", type="pro")


def test_delete_is_final() -> None:
    d = seats_driver()
    d.run(t(2026, 9, 3), "delete_workspace", confirm="acme")
    assert d.status == "deleted"
    with pytest.raises(DomainError, match="not_allowed_in_status"):
        d.run(t(2026, 9, 4), "add_member", user="zoe")

"""The draft window of in-advance invoices (`billing.invoicing.drafts`): amend, take off, drop, post."""

from __future__ import annotations

from billing import COMMAND_ADAPTER, Catalog, PostInvoice, next_deadline, preview
from tests.unit.billing_helpers import SEATS, Driver, t

TEAM = {"alice": "admin", "bob": "admin", "carol": "member"}
SEATS_NOW = SEATS.model_copy(update={"invoice_draft_minutes": 0})


def lines(d: Driver, index: int = -1) -> list[tuple[str, int, int, int]]:
    return [(ln.kind, ln.quantity, ln.unit_amount, ln.amount) for ln in d.invoices[index].lines]


def two_pro_seats_at_nine(window: bool = True) -> Driver:
    d = Driver(SEATS if window else SEATS_NOW, t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro")
    return d


def test_the_draft_posts_when_its_window_ends() -> None:
    d = two_pro_seats_at_nine()
    assert next_deadline(d.state) == t(2026, 9, 3, 10)
    d.tick(t(2026, 9, 3, 9, 59))
    assert d.invoices == []
    d.tick(t(2026, 9, 3, 10))
    assert lines(d) == [("seat", 2, 3000, 6000)]
    assert d.invoices[0].issued_at == t(2026, 9, 3, 9)
    assert [e.event for e in d.events if e.event.startswith("invoice_")] == [
        "invoice_drafted",
        "invoice_posted",
    ]


def test_unassign_inside_the_window_takes_the_seat_off_the_draft() -> None:
    d = two_pro_seats_at_nine()
    decision = d.run(t(2026, 9, 3, 9, 30), "unassign_seat", user="bob")
    assert decision.result is not None
    assert decision.result.message == "seat taken off the draft invoice"
    assert d.state.accrued == ()  # never charged, so nothing to credit
    d.tick(t(2026, 10, 3, 1))
    assert [lines(d, 0), lines(d, 1)] == [[("seat", 1, 3000, 3000)], [("seat", 1, 3000, 3000)]]
    assert all(ln.kind != "seat_credit" for inv in d.invoices for ln in inv.lines)


def test_a_draft_left_without_lines_is_dropped_and_uses_no_number() -> None:
    d = Driver(SEATS, t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 3, 9, 20), "unassign_seat", user="alice")
    assert d.state.open_invoice is None
    assert next_deadline(d.state) == t(2026, 10, 3)  # the business period ends: no paid seat
    d.tick(t(2026, 10, 3))
    assert (d.status, d.invoices, d.state.credit_balance) == ("free", [], 0)
    d.run(t(2026, 10, 5, 12), "assign_seat", user="alice", type="pro")
    d.tick(t(2026, 10, 5, 13))
    assert [inv.number for inv in d.invoices] == ["acme-00001"]


def test_a_later_day_inside_the_window_is_credited_as_usual() -> None:
    d = Driver(SEATS, t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 23, 30), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 3, 23, 30), "assign_seat", user="bob", type="pro")
    d.run(t(2026, 9, 4, 0, 10), "unassign_seat", user="bob")  # Sep 3 was used
    assert [(ln.kind, ln.amount) for ln in d.state.accrued] == [("seat_credit", -2900)]
    d.tick(t(2026, 9, 4, 0, 30))
    assert lines(d) == [("seat", 2, 3000, 6000)]


def test_upgrade_inside_the_window_changes_the_draft_line() -> None:
    d = two_pro_seats_at_nine()
    d.run(t(2026, 9, 3, 9, 40), "change_seat", user="bob", type="max")
    assert d.state.accrued == ()
    d.tick(t(2026, 9, 3, 10))
    assert lines(d) == [("seat", 1, 3000, 3000), ("seat", 1, 10000, 10000)]


def test_renewal_draft_is_amended_on_its_first_day() -> None:
    d = two_pro_seats_at_nine()
    d.run(t(2026, 9, 20), "assign_seat", user="carol", type="max")  # 13/30 of 10000
    d.run(t(2026, 10, 3, 0, 30), "change_seat", user="carol", type="pro")  # a downgrade: period end
    d.run(t(2026, 10, 3, 0, 45), "unassign_seat", user="carol")  # off the renewal's max line
    d.run(t(2026, 10, 3, 0, 50), "assign_seat", user="carol", type="pro")  # onto its pro line
    assert d.state.accrued == ()
    d.tick(t(2026, 10, 3, 1))
    assert lines(d) == [("seat", 3, 3000, 9000), ("seat_proration", 1, 4333, 4333)]
    assert d.invoices[-1].issued_at == t(2026, 10, 3)


def test_preview_inside_the_window_shows_the_amended_draft() -> None:
    d = Driver(SEATS, t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    command = COMMAND_ADAPTER.validate_python(
        {"kind": "assign_seat", "request_id": "p1", "user": "bob", "type": "pro"}
    )
    quote = preview(d.state, command, t(2026, 9, 3, 9, 5), SEATS)
    assert quote.invoices == ()
    assert quote.draft is not None
    assert (quote.draft.total, quote.draft_change, quote.due_now) == (6000, 3000, 3000)
    assert [(ln.kind, ln.quantity) for ln in quote.lines] == [("seat", 2)]
    off = COMMAND_ADAPTER.validate_python({"kind": "unassign_seat", "request_id": "p2", "user": "alice"})
    dropped = preview(d.state, off, t(2026, 9, 3, 9, 5), SEATS)
    assert (dropped.draft, dropped.draft_change, dropped.accrued) == (None, -3000, ())


def test_deleting_the_workspace_posts_the_open_draft() -> None:
    d = two_pro_seats_at_nine()
    decision = d.run(t(2026, 9, 3, 9, 10), "delete_workspace", confirm="acme")
    posted = [e.invoice for e in decision.effects if isinstance(e, PostInvoice)]
    assert [(inv.issued_at, inv.total) for inv in posted] == [(t(2026, 9, 3, 9), 6000)]
    assert (d.status, d.state.open_invoice) == ("deleted", None)


def test_without_a_window_every_charge_posts_at_once() -> None:
    d = two_pro_seats_at_nine(window=False)
    assert [(inv.issued_at, inv.total) for inv in d.invoices] == [(t(2026, 9, 3, 9), 3000)] * 2
    assert d.state.open_invoice is None
    d.run(t(2026, 9, 3, 9, 30), "unassign_seat", user="bob")
    assert [(ln.kind, ln.amount) for ln in d.state.accrued] == [("seat_credit", -3000)]
    d.tick(t(2026, 10, 3))
    assert d.invoices[-1].issued_at == t(2026, 10, 3)
    assert lines(d) == [("seat", 1, 3000, 3000), ("seat_credit", 1, -3000, -3000)]
    assert "invoice_drafted" not in d.event_names()


def _twin_seat_types() -> Catalog:
    """``max`` renamed and repriced as a second "Pro": one display name, one price."""
    twin = SEATS.seat_types["max"].model_copy(update={"name": "Pro", "monthly_price": 3000})
    return SEATS.model_copy(update={"seat_types": {**SEATS.seat_types, "max": twin}})


def _items(d: Driver) -> list[tuple[str | None, int]]:
    return [(ln.item.code if ln.item else None, ln.quantity) for ln in d.invoices[-1].lines]


def test_two_seat_types_sharing_a_display_name_stay_two_lines() -> None:
    d = Driver(_twin_seat_types(), t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="max")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="carol", type="pro")
    d.tick(t(2026, 9, 3, 10))
    assert [ln.description for ln in d.invoices[0].lines] == ["Pro seat (monthly)"] * 2
    assert _items(d) == [("pro", 2), ("max", 1)]


def test_taking_a_seat_off_the_draft_takes_it_off_its_own_type() -> None:
    d = Driver(_twin_seat_types(), t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="max")
    d.run(t(2026, 9, 3, 9, 30), "unassign_seat", user="bob")
    d.tick(t(2026, 9, 3, 10))
    assert _items(d) == [("pro", 1)]


def test_a_line_drafted_without_an_item_is_amended_by_its_description() -> None:
    d = Driver(SEATS, t(2026, 9, 1), TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="alice", type="pro")
    draft = d.state.open_invoice
    assert draft is not None
    # As a state carried from a run recorded before lines carried their item.
    legacy = tuple(ln.model_copy(update={"item": None}) for ln in draft.lines)
    d.state = d.state.model_copy(update={"open_invoice": draft.model_copy(update={"lines": legacy})})
    d.run(t(2026, 9, 3, 9), "assign_seat", user="bob", type="pro")
    d.tick(t(2026, 9, 3, 10))
    assert lines(d) == [("seat", 2, 3000, 6000)]

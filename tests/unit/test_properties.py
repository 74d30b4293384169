"""Hypothesis properties over random command sequences (both catalogs).

- invoice totals and the carried credit balance are never negative;
- applying a command twice with the same request id changes nothing the second time;
- preview equals apply (draft invoices included), every previewed adjustment ends up on
  a posted invoice, no draft is left open and invoice numbers are gapless (with and
  without the draft window);
- a seat's prorated charge and credit for any split sum to the full price within 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing import (
    COMMAND_ADAPTER,
    Catalog,
    Command,
    DomainError,
    InvoiceLine,
    apply,
    preview,
)
from billing.invoicing.charges import seat_price
from billing.preview import lines_added
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t

SEATS_NOW = SEATS.model_copy(update={"invoice_draft_minutes": 0})
USERS = ["ann", "ben", "cat", "dov", "eli"]
SEATS_TEAM = {"ann": "admin", "ben": "admin", "cat": "member", "dov": "member"}
CREDITS_TEAM = {"ann": "org_admin", "ben": "viewer", "cat": "viewer"}

user = st.sampled_from(USERS)
assign = st.fixed_dictionaries(
    {
        "kind": st.just("assign_seat"),
        "user": user,
        "type": st.sampled_from(["pro", "max", "pro", "max", "free"]),
        "cycle": st.sampled_from(["monthly", "monthly", "annual"]),
    }
)
unassign = st.fixed_dictionaries({"kind": st.just("unassign_seat"), "user": user})
change = st.fixed_dictionaries(
    {"kind": st.just("change_seat"), "user": user, "type": st.sampled_from(["pro", "max"])}
)
seat_commands = st.one_of(
    assign,
    assign,
    assign,
    unassign,
    unassign,
    change,
    change,
    st.fixed_dictionaries({"kind": st.sampled_from(["cancel", "clear_cancellation", "reactivate"])}),
    st.fixed_dictionaries({"kind": st.just("add_member"), "user": user}),
    st.fixed_dictionaries({"kind": st.just("remove_member"), "user": user}),
    st.fixed_dictionaries(
        {"kind": st.just("set_role"), "user": user, "role": st.sampled_from(["admin", "member"])}
    ),
)
credit_commands = st.one_of(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["select_plan", "change_plan"]),
            "plan": st.sampled_from(["solo", "starter"]),
        }
    ),
    st.fixed_dictionaries({"kind": st.sampled_from(["cancel", "clear_cancellation", "reactivate"])}),
    st.fixed_dictionaries({"kind": st.just("extend_trial"), "days": st.integers(1, 20)}),
    st.fixed_dictionaries(
        {
            "kind": st.just("set_role"),
            "user": user,
            "role": st.sampled_from(["viewer", "editor", "org_admin"]),
        }
    ),
)
# Minutes between steps: up to 12 days, or often less than the 60-minute draft window.
gaps = st.one_of(st.integers(0, 24 * 12).map(lambda hours: hours * 60), st.integers(0, 90))


def steps(
    commands: st.SearchStrategy[Mapping[str, object]],
) -> st.SearchStrategy[list[tuple[int, Mapping[str, object]]]]:
    return st.lists(st.tuples(gaps, commands), min_size=10, max_size=30)


def run_sequence(
    catalog: Catalog, team: dict[str, str], sequence: list[tuple[int, Mapping[str, object]]]
) -> tuple[Driver, list[InvoiceLine]]:
    """Drive the sequence, checking preview == apply and idempotency at every step."""
    d = Driver(catalog, t(2026, 1, 31, 6), team)
    at: datetime = t(2026, 1, 31, 6)
    previewed: list[InvoiceLine] = []
    for index, (gap, fields) in enumerate(sequence):
        at += timedelta(minutes=gap)
        command: Command = COMMAND_ADAPTER.validate_python({**fields, "request_id": f"q{index}"})
        d.tick(at)
        before = d.state
        try:
            quote = preview(before, command, at, catalog)
        except DomainError as refused:
            refused_code: str | None = refused.code
        else:
            refused_code = None
        if refused_code is not None:  # apply must refuse it the same way
            with pytest.raises(DomainError) as also:
                apply(before, command, at, catalog)
            assert also.value.code == refused_code
            continue
        decision = apply(before, command, at, catalog)
        charged = lines_added(before, decision.state, decision.effects)
        assert charged == quote.model_copy(update={"effective_at": None})
        previewed += quote.accrued
        d.state = d._take(decision)
        repeat = apply(d.state, command, at + timedelta(days=40), catalog)
        assert repeat.state == d.state
        assert repeat.effects == []
        assert repeat.result == decision.result
    return d, previewed


def check_money(d: Driver, previewed: list[InvoiceLine]) -> None:
    # 70 days after the story's last step: a line accrued then is charged at the next period
    # end, even when no invoice was posted for months (only annual stock, nothing billed monthly).
    d.tick(max([d.latest, *(inv.issued_at for inv in d.invoices)]) + timedelta(days=70))
    if d.state.open_invoice is not None:  # a renewal drafted at the last instant
        d.tick(d.state.open_invoice.finalize_at)
    assert d.state.open_invoice is None
    numbers = [inv.number for inv in d.invoices]
    assert numbers == [f"acme-{i:05d}" for i in range(1, len(numbers) + 1)]  # gapless
    for invoice in d.invoices:
        assert invoice.total >= 0
        assert invoice.total == sum(ln.amount for ln in invoice.lines)
    assert d.state.credit_balance >= 0
    invoiced = Counter(ln for inv in d.invoices for ln in inv.lines)
    missing = Counter(previewed) - invoiced
    assert not missing, f"previewed adjustments never invoiced: {missing}"


# Found by Hypothesis: a monthly seat assigned after months with nothing billed monthly (only
# annual stock, then none) accrues a proration that is charged at the next period end.
QUIET_MONTHS_THEN_A_SEAT: list[tuple[int, Mapping[str, object]]] = [
    (0, {"kind": "assign_seat", "user": "ann", "type": "pro", "cycle": "annual"}),
    (14880, {"kind": "assign_seat", "user": "ann", "type": "pro", "cycle": "monthly"}),
    *[(gap, {"kind": "cancel"}) for gap in (780, 1020, 3900, 4980, 13560, 14760)],
    (8760, {"kind": "unassign_seat", "user": "ann"}),
    (16560, {"kind": "unassign_seat", "user": "ann"}),
    (6840, {"kind": "assign_seat", "user": "ann", "type": "pro", "cycle": "monthly"}),
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps(seat_commands))
@example(sequence=QUIET_MONTHS_THEN_A_SEAT)
def test_seats_sequences(sequence: list[tuple[int, Mapping[str, object]]]) -> None:
    d, previewed = run_sequence(SEATS, SEATS_TEAM, sequence)
    check_money(d, previewed)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps(seat_commands))
def test_seats_sequences_without_draft_window(sequence: list[tuple[int, Mapping[str, object]]]) -> None:
    d, previewed = run_sequence(SEATS_NOW, SEATS_TEAM, sequence)
    check_money(d, previewed)
    assert "invoice_drafted" not in d.event_names()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps(credit_commands))
def test_credits_sequences(sequence: list[tuple[int, Mapping[str, object]]]) -> None:
    d, previewed = run_sequence(CREDITS, CREDITS_TEAM, sequence)
    check_money(d, previewed)


@settings(max_examples=100, deadline=None)
@given(
    seat_type=st.sampled_from(["pro", "max"]),
    cycle=st.sampled_from(["monthly", "annual"]),
    anchor_day=st.integers(0, 400),
    split_days=st.integers(1, 27),
    split_hour=st.integers(0, 23),
)
def test_split_charge_plus_credit_is_the_full_price(
    seat_type: str, cycle: str, anchor_day: int, split_days: int, split_hour: int
) -> None:
    """Seat held from the period start and removed at the split, another added at the split.

    The first costs its price minus the credit; the second its proration. Together: the
    price of one seat over the whole term, within one minor unit.
    """
    start = t(2026, 1, 1) + timedelta(days=anchor_day)
    d = Driver(SEATS, start, SEATS_TEAM)
    d.run(start, "assign_seat", user="ann", type=seat_type, cycle="monthly")
    d.run(start, "assign_seat", user="cat", type=seat_type, cycle=cycle)
    full = seat_price(SEATS, seat_type, cycle)
    split = start + timedelta(days=split_days, hours=split_hour)
    d.run(split, "unassign_seat", user="cat")
    d.run(split, "assign_seat", user="dov", type=seat_type, cycle=cycle)
    if cycle == "annual":  # no refund: the seat goes to stock; the new one is prorated
        assert len(d.state.accrued) == 1
        return
    credit, charge = (ln.amount for ln in d.state.accrued)
    assert abs((full + credit) + charge - full) <= 1
    assert -credit == charge


def test_preview_of_the_worked_example() -> None:
    d = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    d.run(t(2026, 9, 3, 9), "assign_seat", user="ann", type="pro")
    command = COMMAND_ADAPTER.validate_python(
        {"kind": "assign_seat", "request_id": "p1", "user": "cat", "type": "pro"}
    )
    quote = preview(d.state, command, t(2026, 9, 18, 12), SEATS)
    assert quote.invoices == ()
    assert [(ln.kind, ln.amount) for ln in quote.accrued] == [("seat_proration", 1500)]
    assert quote.due_now == 0
    checkout = COMMAND_ADAPTER.validate_python(
        {"kind": "assign_seat", "request_id": "p2", "user": "ben", "type": "max", "cycle": "annual"}
    )
    fresh = Driver(SEATS, t(2026, 9, 1), SEATS_TEAM)
    assert preview(fresh.state, checkout, t(2026, 9, 3), SEATS).due_now == 102000

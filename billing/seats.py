"""Seat commands of the seats catalog (SPEC §1.1, §1.4): in-advance, per-seat billing.

Adding a paid seat mid-period accrues a ``seat_proration`` (day added included) for the
next invoice; removing a monthly seat accrues a ``seat_credit`` for the unused days (day
of removal credited); removing an annual seat refunds nothing and puts the seat in stock,
reassignable once the current monthly period ends.

A seat added on the day its period (or annual term) started is charged in advance for
the full period: that period's in-advance invoice was issued that day, so the seat is
treated as held from the start (SPEC §1.1's worked example: two seats bought on Sep 3
are 2 x 3000 on Sep 3, not a proration on Oct 3). Inside the draft window it joins the
open draft (one invoice of 6000); after it, a supplementary invoice. Removing or
changing a seat that the open draft charges edits the draft instead (`billing.invoicing.drafts`).
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.changes import BillingStateChanges, evolve
from billing.commands import AssignSeat, UnassignSeat
from billing.decision import Outcome, event, require_status
from billing.effects import Effect
from billing.errors import (
    MEMBER_NOT_FOUND,
    NOT_SUPPORTED,
    SEAT_ALREADY_ASSIGNED,
    SEAT_LIMIT_REACHED,
    SEAT_NOT_ASSIGNED,
    DomainError,
)
from billing.invoicing.charges import (
    recurring_seat_lines,
    remainder_window,
    seat_description,
    seat_item,
    seat_price,
    seat_term,
)
from billing.invoicing.drafts import charge_in_advance, take_seat_off_draft
from billing.invoicing.invoices import line, prorated_line
from billing.periods import anchored_period, day_start, remaining_fraction, span_fraction
from billing.revert import restore
from billing.state import (
    PAID_STATUSES,
    BillingState,
    PrepaidSeat,
    Seat,
    SeatEntry,
    StockSeat,
    reassignable_stock,
    seats_held,
)
from billing.terms import (
    annual_paid_end,
    annual_term_end,
    drop_prepaid,
    prepaid_until,
    reclaim_billed_days,
    restored_type_changes,
    split_prepaid,
    unclaimed_billed_days,
    with_billed_days,
)


def require_seats_catalog(catalog: Catalog) -> None:
    if not catalog.seat_based:
        raise DomainError(NOT_SUPPORTED, f"catalog {catalog.name!r} has no seat types")


def held_seat(state: BillingState, user: str) -> Seat:
    seat = seats_held(state).get(user)
    if seat is not None:
        return seat
    if user not in state.members:
        raise DomainError(MEMBER_NOT_FOUND, f"no member {user!r}", {"user": user})
    raise DomainError(SEAT_NOT_ASSIGNED, f"{user!r} holds no paid seat", {"user": user})


def ledger_entry(seat: Seat, quantity: int, at: datetime, reason: str) -> SeatEntry:
    return SeatEntry.model_validate(
        {**seat.model_dump(exclude={"since", "paid_until"}), "quantity": quantity, "at": at, "reason": reason}
    )


def assign_seat(state: BillingState, cmd: AssignSeat, at: datetime, catalog: Catalog) -> Outcome:
    """Give ``cmd.user`` a seat; the first paid seat of a free workspace is the checkout."""
    require_seats_catalog(catalog)
    require_status(state, {"free", *PAID_STATUSES}, "assign a seat")
    member = state.members.get(cmd.user)
    if member is None or member.status != "active":
        raise DomainError(MEMBER_NOT_FOUND, f"no active member {cmd.user!r}", {"user": cmd.user})
    kind = catalog.seat_type(cmd.seat_type)
    held = seats_held(state)
    if not kind.paid:
        if cmd.user in held:
            return unassign_seat(state, UnassignSeat(request_id=cmd.request_id, user=cmd.user), at, catalog)
        return Outcome(state, [], f"{cmd.user} already has a free seat")
    if cmd.user in held:
        raise DomainError(SEAT_ALREADY_ASSIGNED, f"{cmd.user!r} already holds a seat", {"user": cmd.user})
    limit = catalog.plan(catalog.seat_plan or "").max_seats
    if state.contract is None and limit is not None and len(held) >= limit:
        raise DomainError(SEAT_LIMIT_REACHED, f"at most {limit} paid seats", {"limit": limit})
    seat = Seat(user=cmd.user, seat_type=kind.code, cycle=cmd.cycle, since=at)
    if state.status == "free":
        return open_seat_period(state, at, catalog, [seat], "checkout")
    return _add_mid_period(state, seat, at, catalog)


def open_seat_period(
    state: BillingState, at: datetime, catalog: Catalog, seats: list[Seat], reason: str
) -> Outcome:
    """Start a paid life anchored on ``at``'s day and invoice one full period in advance.

    Used by the checkout (first paid seat) and by reactivation (the previous seats).
    """
    effects: list[Effect] = []
    if state.reverted_at is not None:
        state, effects = restore(state, at).state_and_effects()
    anchor = day_start(at)
    period = anchored_period(anchor, 0)
    seats = with_billed_days(state, seats)
    remembered = state.restorable_seats
    billed, prepaid = split_prepaid(seats, at)
    entries = tuple(ledger_entry(s, 1, at, reason) for s in seats)
    previous_plan = state.plan
    state = evolve(
        state,
        status="active",
        plan=catalog.seat_plan,
        anchor=anchor,
        period_index=0,
        period_start=period.start,
        period_end=period.end,
        seat_ledger=state.seat_ledger + entries,
        restorable_seats=unclaimed_billed_days(state, seats, at),
        prepaid_seats=tuple(PrepaidSeat(user=u, paid_until=until) for u, until in prepaid),
    )
    effects += [
        event("plan_changed", at, from_plan=previous_plan, to_plan=catalog.seat_plan),
        *(event("seat_assigned", at, user=s.user, seat_type=s.seat_type, cycle=s.cycle) for s in seats),
    ]
    # A seat whose earlier days are still billed is not billed again (`billing.terms`).
    by_user = {s.user: s for s in billed}
    lines = recurring_seat_lines(catalog, by_user, anchor, 0, period, annual_too=True)
    differences = restored_type_changes(state, remembered, seats, at, catalog)
    if differences:
        state = evolve(state, accrued=(*state.accrued, *differences))
    posted = charge_in_advance(state, catalog, at, period, lines)
    return Outcome(
        posted.state,
        effects + posted.effects,
        f"{reason}: period {period.start.date()} to {period.end.date()}",
    )


def _add_mid_period(state: BillingState, seat: Seat, at: datetime, catalog: Catalog) -> Outcome:
    state = evolve(state, seat_ledger=(*state.seat_ledger, ledger_entry(seat, 1, at, "assigned")))
    effects: list[Effect] = [
        event("seat_assigned", at, user=seat.user, seat_type=seat.seat_type, cycle=seat.cycle)
    ]
    if state.contract is not None:
        return Outcome(state, effects, "seat assigned (covered by the contract)")
    reclaimed = reclaim_billed_days(state, seat, at, catalog)
    if reclaimed is not None:
        return Outcome(reclaimed, effects, "seat given back: its billed days are not charged again")
    stock = reassignable_stock(state, seat.seat_type, at) if seat.cycle == "annual" else None
    if stock is not None:
        taken = state.seat_stock[stock]
        remaining = state.seat_stock[:stock] + state.seat_stock[stock + 1 :]
        update: BillingStateChanges = {"seat_stock": remaining}
        if taken.term_end < annual_term_end(state):
            # A stock seat paid by an earlier term: the rest of this term is charged when it ends.
            update["prepaid_seats"] = (
                *state.prepaid_seats,
                PrepaidSeat(user=seat.user, paid_until=taken.term_end),
            )
        return Outcome(evolve(state, **update), effects, "seat taken from stock")
    term = seat_term(state, seat.cycle)
    price = seat_price(catalog, seat.seat_type, seat.cycle)
    description = seat_description(catalog, seat.seat_type, seat.cycle)
    item = seat_item(seat.seat_type, seat.cycle)
    if day_start(at) == term.start:
        charge = line("seat", item, description, 1, price, term)
        posted = charge_in_advance(state, catalog, at, term, [charge], with_accrued=False)
        when = "charged at once" if posted.state.open_invoice is None else "on the draft invoice"
        return Outcome(posted.state, effects + posted.effects, f"{when} for the full period")
    adjustment = prorated_line(
        "seat_proration", item, description, price, remaining_fraction(at, term), remainder_window(at, term)
    )
    state = evolve(state, accrued=(*state.accrued, adjustment))
    return Outcome(state, effects, f"prorated {adjustment.amount} on the next invoice")


def unassign_seat(state: BillingState, cmd: UnassignSeat, at: datetime, catalog: Catalog) -> Outcome:
    """Take ``cmd.user``'s paid seat back: credit (monthly) or stock (annual)."""
    require_seats_catalog(catalog)
    seat = held_seat(state, cmd.user)
    state = evolve(
        state,
        seat_ledger=(*state.seat_ledger, ledger_entry(seat, -1, at, "unassigned")),
        pending_seat_changes=tuple(c for c in state.pending_seat_changes if c.user != seat.user),
    )
    effects: list[Effect] = [
        event("seat_unassigned", at, user=seat.user, seat_type=seat.seat_type, cycle=seat.cycle)
    ]
    if state.contract is not None or state.period is None:
        return Outcome(state, effects, "seat released")
    undrafted = take_seat_off_draft(state, catalog, seat, at)
    if undrafted is not None:
        return Outcome(undrafted, effects, "seat taken off the draft invoice")
    term = seat_term(state, seat.cycle)
    if seat.cycle == "annual":
        assert state.period_end is not None
        stock = StockSeat(
            seat_type=seat.seat_type,
            term_end=annual_paid_end(state, seat.user),
            reassignable_at=state.period_end,
        )
        state = evolve(drop_prepaid(state, seat.user), seat_stock=(*state.seat_stock, stock))
        return Outcome(
            state, effects, f"annual seat returned to stock, reassignable {stock.reassignable_at.date()}"
        )
    price = seat_price(catalog, seat.seat_type, seat.cycle)
    # A prepaid seat was billed only up to its earlier period's end: only those days come back.
    billed_to = prepaid_until(state, seat.user) or term.end
    state = drop_prepaid(state, seat.user)
    if span_fraction(at, billed_to, term) == 0:
        return Outcome(state, effects, "seat released")
    credit = prorated_line(
        "seat_credit",
        seat_item(seat.seat_type, seat.cycle),
        seat_description(catalog, seat.seat_type, seat.cycle),
        -price,
        span_fraction(at, billed_to, term),
        remainder_window(at, term, billed_to),
    )
    state = evolve(state, accrued=(*state.accrued, credit))
    return Outcome(state, effects, f"credited {-credit.amount} on the next invoice")

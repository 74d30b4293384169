"""What a workspace has paid for: annual terms, prepaid seats, the end of paid life (SPEC §1.1, §2).

An annual seat is billed for its whole term in advance, so the paid life of a workspace
runs to the latest of its current monthly period and the annual terms of its annual
seats (held or waiting in the seat stock). Three rules follow, all here:

- a cancellation takes effect at the first period end on or after that instant
  (`paid_through`); monthly seats stop at the current period end (`release_monthly`);
- a revert remembers, for each annual seat, the end of the term it was billed for
  (`restorable_seats`), and a reactivation before then bills none of those days again:
  the seat is *prepaid* (`billing.state.PrepaidSeat`) until that instant, and only the
  days from there to the new anchor's term end are charged, on the next invoice
  (`top_up`), like an annual seat added mid-term;
- a period that ends with no held seat but a paid stock seat is still a paid period.

Under rules 3 the remembered days outlive the checkout that opens the next paid life: a
member whose seat that checkout does not give back keeps them (`unclaimed_billed_days`)
and an assignment of a seat of the same cycle takes them (`reclaim_billed_days`), as a
reactivation does. Under rules 5 they also outlive that paid life's own revert
(`restorable_seats`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from billing.catalog import Catalog
from billing.changes import evolve
from billing.decision import Outcome, event
from billing.effects import Effect
from billing.invoicing.charges import remainder_window, seat_description, seat_item, seat_price, seat_term
from billing.invoicing.invoices import InvoiceLine, prorated_line
from billing.periods import anchored_index_at, anchored_period, remaining_fraction, span_fraction
from billing.state import BillingState, PrepaidSeat, Seat, SeatEntry, seats_held

_INSTANT = timedelta(microseconds=1)


def prepaid_until(state: BillingState, user: str) -> datetime | None:
    """The end of the earlier term ``user``'s annual seat is still paid by, if any."""
    return next((p.paid_until for p in state.prepaid_seats if p.user == user), None)


def drop_prepaid(state: BillingState, user: str) -> BillingState:
    """``state`` without ``user``'s prepaid record (its seat is charged, released or gone)."""
    return evolve(state, prepaid_seats=tuple(p for p in state.prepaid_seats if p.user != user))


def annual_term_end(state: BillingState) -> datetime:
    """The end of the current anchored annual term."""
    return seat_term(state, "annual").end


def annual_paid_end(state: BillingState, user: str) -> datetime:
    """Where the billed term of ``user``'s annual seat ends (prepaid or anchored)."""
    return prepaid_until(state, user) or annual_term_end(state)


def paid_stock(state: BillingState, at: datetime) -> bool:
    """Whether a seat in the stock is still paid after ``at`` (a paid seat, SPEC §1.1)."""
    return any(s.term_end > at for s in state.seat_stock)


def paid_through(state: BillingState) -> datetime | None:
    """The period end at which a cancellation requested now takes effect.

    The latest of the current period end, the anchored annual term of every held annual
    seat and every paid stock seat's term, rounded up to a period end (the revert runs
    at a renewal).
    """
    end = state.period_end
    if end is None or state.anchor is None:
        return end
    held_annual = [s for s in seats_held(state).values() if s.cycle == "annual"]
    ends = [end]
    if held_annual:
        ends.append(annual_term_end(state))
    ends += [s.term_end for s in state.seat_stock if s.term_end > end]
    latest = max(ends)
    if latest == end:
        return end
    return anchored_period(state.anchor, anchored_index_at(state.anchor, latest - _INSTANT)).end


def release_monthly(state: BillingState, at: datetime) -> Outcome:
    """A cancelled workspace's monthly seats end with the period (no further charge)."""
    released = [s for s in seats_held(state).values() if s.cycle == "monthly"]
    entries = tuple(
        SeatEntry(user=s.user, seat_type=s.seat_type, cycle=s.cycle, quantity=-1, at=at, reason="canceled")
        for s in released
    )
    users = {s.user for s in released}
    state = evolve(
        state,
        seat_ledger=state.seat_ledger + entries,
        pending_seat_changes=tuple(c for c in state.pending_seat_changes if c.user not in users),
    )
    effects: list[Effect] = [
        event("seat_unassigned", at, user=s.user, seat_type=s.seat_type, cycle=s.cycle, reason="canceled")
        for s in released
    ]
    return Outcome(state, effects)


def billed_until(state: BillingState, seat: Seat) -> datetime | None:
    """Where the days billed for ``seat`` end: its prepaid term, else the annual term (annual)
    or the monthly period (monthly) it was billed for in advance."""
    if seat.cycle == "annual":
        return annual_paid_end(state, seat.user)
    return prepaid_until(state, seat.user) or state.period_end


def restorable_seats(state: BillingState, at: datetime) -> tuple[Seat, ...]:
    """The seats held at a revert at ``at``, each with the end of the days it was billed for
    when that is still to come (a revert at the final dunning failure falls mid-period, and
    the owed invoice stays owed: those days are billed).

    Under rules 5 the billed days remembered at an earlier revert and not yet given back
    (`unclaimed_billed_days`) are remembered again: a paid life that ends before a member's
    seat of that cycle is reassigned must not forget them, or the next checkout bills them
    twice (a monthly seat's owed days, then an annual seat's life, then the monthly seat
    again)."""
    seats: list[Seat] = []
    for seat in seats_held(state).values():
        paid_until = billed_until(state, seat)
        if paid_until is not None and paid_until <= at:
            paid_until = None
        seats.append(evolve(seat, paid_until=paid_until))
    if state.rules >= 5:
        held = {(s.user, s.cycle) for s in seats}
        seats += [
            s
            for s in state.restorable_seats
            if (s.user, s.cycle) not in held and s.paid_until is not None and s.paid_until > at
        ]
    return tuple(seats)


def with_billed_days(state: BillingState, seats: list[Seat]) -> list[Seat]:
    """``seats`` to open a paid life with, each carrying the billed days of the member's seat
    of the same cycle remembered at the revert: a checkout that gives a member a seat back
    does not bill its days again, as a reactivation does not (a type change is priced by
    `restored_type_changes`)."""
    remembered = {(s.user, s.cycle): s.paid_until for s in state.restorable_seats}
    return [
        s if s.paid_until is not None else evolve(s, paid_until=remembered.get((s.user, s.cycle)))
        for s in seats
    ]


def unclaimed_billed_days(state: BillingState, seats: list[Seat], at: datetime) -> tuple[Seat, ...]:
    """The seats remembered at the revert that a paid life opened at ``at`` with ``seats``
    does not give back and whose billed days are still to come (rules 3; none before)."""
    if state.rules < 3:
        return ()
    given = {(s.user, s.cycle) for s in seats}
    return tuple(
        s
        for s in state.restorable_seats
        if (s.user, s.cycle) not in given and s.paid_until is not None and s.paid_until > at
    )


def reclaim_billed_days(
    state: BillingState, seat: Seat, at: datetime, catalog: Catalog
) -> BillingState | None:
    """``state`` with ``seat``, assigned at ``at`` in a paid life, prepaid until the end of the
    days billed for the member's seat of the same cycle remembered at the revert, if any:
    those days are not billed again, the rest of the term is charged when they end
    (`top_up`), and a type change is priced by `restored_type_changes`. None when nothing
    billed is remembered for it (or under rules before 3): the seat is charged as any added seat."""
    if state.rules < 3:
        return None
    old = next(
        (
            s
            for s in state.restorable_seats
            if (s.user, s.cycle) == (seat.user, seat.cycle) and s.paid_until is not None and s.paid_until > at
        ),
        None,
    )
    if old is None or old.paid_until is None:
        return None
    differences = restored_type_changes(state, (old,), [evolve(seat, paid_until=old.paid_until)], at, catalog)
    return evolve(
        state,
        restorable_seats=tuple(s for s in state.restorable_seats if s is not old),
        prepaid_seats=(
            *drop_prepaid(state, seat.user).prepaid_seats,
            PrepaidSeat(user=seat.user, paid_until=old.paid_until),
        ),
        accrued=(*state.accrued, *differences),
    )


def restored_type_changes(
    state: BillingState, before: tuple[Seat, ...], seats: list[Seat], at: datetime, catalog: Catalog
) -> list[InvoiceLine]:
    """The upgrade differences of seats given back with another type than they were billed
    for: charged for the billed days left, prorated over the seat's new term, as an upgrade
    is (`billing.seat_changes.change_seat`); a cheaper type refunds nothing of a billed term.

    Args:
        before: the seats remembered at the revert; ``state`` is the new paid life's.
    """
    remembered = {(s.user, s.cycle): s for s in before}
    lines: list[InvoiceLine] = []
    for seat in seats:
        old = remembered.get((seat.user, seat.cycle))
        until = seat.paid_until
        if old is None or old.seat_type == seat.seat_type or until is None or until <= at:
            continue
        price = seat_price(catalog, seat.seat_type, seat.cycle)
        difference = price - seat_price(catalog, old.seat_type, old.cycle)
        term = seat_term(state, seat.cycle)
        if difference <= 0 or span_fraction(at, until, term) == 0:
            continue
        new_name = catalog.seat_type(seat.seat_type).name
        description = f"{seat_description(catalog, old.seat_type, old.cycle)} to {new_name}"
        window = remainder_window(at, term, until)
        lines.append(
            prorated_line(
                "seat_proration",
                seat_item(seat.seat_type, seat.cycle),
                description,
                difference,
                span_fraction(at, until, term),
                window,
            )
        )
    return lines


def split_prepaid(seats: list[Seat], at: datetime) -> tuple[list[Seat], tuple[tuple[str, datetime], ...]]:
    """Seats a reactivation at ``at`` must bill, and (user, paid_until) of those still paid."""
    billed = [s for s in seats if s.paid_until is None or s.paid_until <= at]
    prepaid = tuple((s.user, s.paid_until) for s in seats if s.paid_until is not None and s.paid_until > at)
    return billed, prepaid


def top_up(state: BillingState, user: str, when: datetime, catalog: Catalog) -> Outcome:
    """Clock: ``user``'s prepaid days end; charge the rest of the seat's current term.

    The charge is a ``seat_proration`` from that day to the end of the anchored annual term
    (annual) or monthly period (monthly), on the next invoice, as for a seat added then. A
    seat no longer held needs nothing.
    """
    state = drop_prepaid(state, user)
    seat = seats_held(state).get(user)
    if seat is None or state.anchor is None or state.period is None:
        return Outcome(state, [])
    term = seat_term(state, seat.cycle)
    if remaining_fraction(when, term) == 0:
        return Outcome(state, [])
    charge = prorated_line(
        "seat_proration",
        seat_item(seat.seat_type, seat.cycle),
        seat_description(catalog, seat.seat_type, seat.cycle),
        seat_price(catalog, seat.seat_type, seat.cycle),
        remaining_fraction(when, term),
        remainder_window(when, term),
    )
    state = evolve(state, accrued=(*state.accrued, charge))
    effects: list[Effect] = [event("prepaid_term_ended", when, user=user, charged=charge.amount)]
    return Outcome(state, effects)

"""Seat type changes (SPEC §1.1): an upgrade now with the difference prorated, a
downgrade scheduled for the end of the seat's term, applied at that period end.

Changing a seat that the open draft charges edits the draft instead (`billing.invoicing.drafts`).
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import ChangeSeat, UnassignSeat
from billing.decision import Outcome, event
from billing.effects import Effect
from billing.invoicing.charges import remainder_window, seat_description, seat_item, seat_price, seat_term
from billing.invoicing.drafts import charge_in_advance, take_seat_off_draft
from billing.invoicing.invoices import line, prorated_line
from billing.periods import span_fraction
from billing.seats import held_seat, ledger_entry, require_seats_catalog, unassign_seat
from billing.state import BillingState, PendingChange, Seat, SeatEntry, seats_held
from billing.terms import annual_term_end, prepaid_until


def change_seat(state: BillingState, cmd: ChangeSeat, at: datetime, catalog: Catalog) -> Outcome:
    """Change a seat's type: upgrade now (difference prorated), downgrade at period end."""
    require_seats_catalog(catalog)
    seat = held_seat(state, cmd.user)
    target = catalog.seat_type(cmd.seat_type)
    if not target.paid:
        return unassign_seat(state, UnassignSeat(request_id=cmd.request_id, user=cmd.user), at, catalog)
    others = tuple(c for c in state.pending_seat_changes if c.user != seat.user)
    if target.code == seat.seat_type:
        cleared = len(others) != len(state.pending_seat_changes)
        state = evolve(state, pending_seat_changes=others)
        effects: list[Effect] = [event("downgrade_cancelled", at, user=seat.user)] if cleared else []
        return Outcome(state, effects, "scheduled seat change cancelled" if cleared else "no change")
    current = catalog.seat_type(seat.seat_type)
    upgrade = target.monthly_price > current.monthly_price
    timing = catalog.seat_change.upgrade if upgrade else catalog.seat_change.downgrade
    if timing == "period_end" and state.period_end is not None:
        # "period_end" is the end of the seat's term: an annual seat keeps its type for the
        # whole term it was billed for (SPEC §1.1).
        annual = seat.cycle == "annual" and state.rules >= 2
        effective = annual_term_end(state) if annual else state.period_end
        change = PendingChange(
            kind="seat_type", effective_at=effective, user=seat.user, to_seat_type=target.code
        )
        state = evolve(state, pending_seat_changes=(*others, change))
        effects = [
            event(
                "downgrade_scheduled",
                at,
                user=seat.user,
                to_seat_type=target.code,
                effective_at=change.effective_at,
            )
        ]
        return Outcome(state, effects, "seat change scheduled", change.effective_at)
    return _change_now(evolve(state, pending_seat_changes=others), seat, target.code, at, catalog)


def _change_now(state: BillingState, seat: Seat, to_type: str, at: datetime, catalog: Catalog) -> Outcome:
    new_seat = evolve(seat, seat_type=to_type, since=at)
    state = evolve(
        state,
        seat_ledger=(
            *state.seat_ledger,
            ledger_entry(seat, -1, at, "changed"),
            ledger_entry(new_seat, 1, at, "changed"),
        ),
    )
    effects: list[Effect] = [
        event("seat_changed", at, user=seat.user, from_seat_type=seat.seat_type, to_seat_type=to_type)
    ]
    if state.contract is not None or state.period is None:
        return Outcome(state, effects, "seat changed")
    term = seat_term(state, seat.cycle)
    undrafted = take_seat_off_draft(state, catalog, seat, at)
    if undrafted is not None:
        price = seat_price(catalog, to_type, seat.cycle)
        description = seat_description(catalog, to_type, seat.cycle)
        charge = line("seat", seat_item(to_type, seat.cycle), description, 1, price, term)
        drafted = charge_in_advance(undrafted, catalog, at, term, [charge], with_accrued=False)
        return Outcome(drafted.state, effects + drafted.effects, "seat changed on the draft invoice")
    difference = seat_price(catalog, to_type, seat.cycle) - seat_price(catalog, seat.seat_type, seat.cycle)
    # A prepaid annual seat was billed only up to its earlier term's end; the days after
    # are charged at the new type's price when that term ends (`billing.terms.top_up`).
    billed_to = prepaid_until(state, seat.user) or term.end
    adjustment = prorated_line(
        "seat_proration" if difference > 0 else "seat_credit",
        seat_item(to_type, seat.cycle),
        f"{seat_description(catalog, seat.seat_type, seat.cycle)} to {catalog.seat_type(to_type).name}",
        difference,
        span_fraction(at, billed_to, term),
        remainder_window(at, term, billed_to),
    )
    state = evolve(state, accrued=(*state.accrued, adjustment))
    return Outcome(state, effects, f"seat changed; {adjustment.amount} on the next invoice")


def apply_scheduled_seat_changes(state: BillingState, at: datetime) -> Outcome:
    """At a period end: move every seat whose pending downgrade is due to its new type."""
    held = seats_held(state)
    entries: list[SeatEntry] = []
    effects: list[Effect] = []
    later = tuple(c for c in state.pending_seat_changes if c.effective_at > at)
    for change in state.pending_seat_changes:
        if change.effective_at > at:
            continue
        seat = held.get(change.user or "")
        if seat is None or change.to_seat_type is None:
            continue
        new_seat = evolve(seat, seat_type=change.to_seat_type, since=at)
        entries += [
            ledger_entry(seat, -1, at, "scheduled_change"),
            ledger_entry(new_seat, 1, at, "scheduled_change"),
        ]
        effects.append(
            event(
                "seat_changed",
                at,
                user=seat.user,
                from_seat_type=seat.seat_type,
                to_seat_type=change.to_seat_type,
            )
        )
    state = evolve(state, seat_ledger=state.seat_ledger + tuple(entries), pending_seat_changes=later)
    return Outcome(state, effects)

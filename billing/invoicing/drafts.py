"""The draft window of in-advance invoices (Stripe keeps a new invoice in ``draft`` ~1 hour).

An in-advance charge (checkout, a seat added on the first day of its period or term,
reactivation, a contract's price at its start, the renewal invoice) is *issued* when it
is drafted (``issued_at``, which dunning counts from) and *posted* (the `PostInvoice`
effect, ``invoice_posted``, the `InvoiceRef`) ``catalog.invoice_draft_minutes`` later,
when `advance` reaches ``open_invoice.finalize_at``. Until then:

- another in-advance charge for the same billing period (same period start) amends the
  draft: a line with the same kind, item (seat type and cycle, plan...), unit amount and
  period absorbs the new quantity, so two seats bought at checkout are one ``seat`` line
  of quantity 2, while two seat types sharing a display name stay two lines;
- removing (or changing the type of) a seat on the draft's first day takes it off its
  ``seat`` line instead of accruing a full-period credit: it was never charged. The money
  is the same as charge-then-credit; only the invoices differ. A draft left with no line
  is dropped.

Accrued adjustments join a draft unmerged, as they would join a posted invoice. A charge
for another period posts the open draft first, so at most one draft is open.

Invoice numbers are allocated when an invoice posts, never when it is drafted: a dropped
draft consumes none, and numbers stay gapless in posting order.

Posted at once, without a window: in-arrears closes (credits catalog at 00:00 UTC on the
1st, contract overage) and the final adjustments of a revert or deletion, because nothing
can amend a closed period. A revert or deletion while a draft is open posts the draft at
once (`flush_accrued`): its charges were agreed by commands already accepted.

With ``invoice_draft_minutes = 0`` every charge posts at once, exactly as without drafts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from billing.catalog import Catalog
from billing.changes import evolve
from billing.decision import Outcome, event
from billing.effects import Effect
from billing.invoicing.charges import seat_description, seat_item, seat_price, seat_term
from billing.invoicing.invoices import InvoiceLine, OpenInvoice, line
from billing.invoicing.posting import post_invoice
from billing.periods import Period, day_start
from billing.state import BillingState, Seat


def _same(old: InvoiceLine, new: InvoiceLine) -> bool:
    """Whether ``new`` charges what ``old`` charges (so it amends ``old``'s quantity).

    A line drafted before lines carried an item (a state from an earlier run) is known
    only by its description, so it is compared by description, as it was then.
    """
    if (old.kind, old.unit_amount, old.period_start, old.period_end) != (
        new.kind,
        new.unit_amount,
        new.period_start,
        new.period_end,
    ):
        return False
    if old.item is None or new.item is None:
        return old.description == new.description
    return old.item == new.item


def merge_lines(lines: Sequence[InvoiceLine], added: Sequence[InvoiceLine]) -> tuple[InvoiceLine, ...]:
    """``lines`` plus ``added``, a line charging the same (`_same`) absorbing an added quantity.

    A quantity that reaches 0 removes the line.
    """
    merged = list(lines)
    for new in added:
        index = next((i for i, old in enumerate(merged) if _same(old, new)), None)
        if index is None:
            merged.append(new)
            continue
        quantity = merged[index].quantity + new.quantity
        amount = quantity * new.unit_amount
        merged[index] = evolve(merged[index], quantity=quantity, amount=amount)
    return tuple(item for item in merged if item.quantity != 0)


def charge_in_advance(
    state: BillingState,
    catalog: Catalog,
    at: datetime,
    period: Period,
    charges: Sequence[InvoiceLine],
    *,
    with_accrued: bool = True,
) -> Outcome:
    """Draft ``charges`` (plus the accrued adjustments) for ``period``: amend or open a draft.

    Without a window (``invoice_draft_minutes = 0``) this is `post_invoice`.
    """
    minutes = catalog.invoice_draft_minutes
    if minutes == 0:
        return post_invoice(state, catalog, at, period, charges, with_accrued=with_accrued)
    accrued = state.accrued if with_accrued else ()
    state = evolve(state, accrued=()) if with_accrued else state
    draft = state.open_invoice
    if draft is not None and draft.period_start == period.start:
        lines = (*merge_lines(draft.lines, charges), *accrued)
        return Outcome(_with_draft(state, evolve(draft, lines=lines)), [])
    effects: list[Effect] = []
    if draft is not None:
        state, effects = post_open_invoice(state, catalog, at).state_and_effects()
    lines = (*merge_lines((), charges), *accrued)
    if not lines:
        return Outcome(state, effects)
    opened = OpenInvoice(
        issued_at=at,
        finalize_at=at + timedelta(minutes=minutes),
        period_start=period.start,
        period_end=period.end,
        lines=lines,
    )
    effects.append(
        event("invoice_drafted", at, total=opened.total, lines=len(lines), finalize_at=opened.finalize_at)
    )
    return Outcome(evolve(state, open_invoice=opened), effects)


def post_open_invoice(state: BillingState, catalog: Catalog, at: datetime) -> Outcome:
    """Post the open draft now (its window ended, or the paid life ends): number, balance, ref."""
    draft = state.open_invoice
    if draft is None:
        return Outcome(state, [])
    state = evolve(state, open_invoice=None)
    return post_invoice(
        state, catalog, draft.issued_at, draft.period, draft.lines, with_accrued=False, posted_at=at
    )


def take_seat_off_draft(
    state: BillingState, catalog: Catalog, seat: Seat, at: datetime
) -> BillingState | None:
    """Remove ``seat`` from the open draft's ``seat`` line, if it is charged there.

    Only on the first day of the seat's term: a later removal credits the unused days as
    usual (the days used are owed). Returns None when the draft does not charge the seat.
    """
    draft = state.open_invoice
    if draft is None or state.period is None:
        return None
    term = seat_term(state, seat.cycle)
    if day_start(at) != term.start:
        return None
    price = seat_price(catalog, seat.seat_type, seat.cycle)
    description = seat_description(catalog, seat.seat_type, seat.cycle)
    charged = line("seat", seat_item(seat.seat_type, seat.cycle), description, -1, price, term)
    if not any(_same(item, charged) and item.quantity > 0 for item in draft.lines):
        return None
    return _with_draft(state, evolve(draft, lines=merge_lines(draft.lines, [charged])))


def _with_draft(state: BillingState, draft: OpenInvoice) -> BillingState:
    """Keep an amended draft, or drop it when no line is left (no number is consumed)."""
    return evolve(state, open_invoice=draft if draft.lines else None)

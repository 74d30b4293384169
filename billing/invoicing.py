"""Building and posting invoices: recurring lines, the credit balance, numbering.

One rule for every invoice (both policies): charges plus the accrued adjustments, then
the carried credit balance. A negative total posts a zero invoice whose
``credit_balance`` line moves the rest into the balance for the next invoice. An
invoice with no charge or adjustment line is not posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from billing.catalog import Catalog
from billing.decision import Outcome, event
from billing.effects import Effect, PostInvoice
from billing.invoices import InvoiceDraft, InvoiceLine, InvoiceRef, LineItem, line, prorated_line
from billing.periods import Cycle, Period, annual_term, day_start, span_fraction
from billing.state import INVOICES_KEPT, BillingState, PlanSegment, Seat, seat_counts


def post_invoice(
    state: BillingState,
    catalog: Catalog,
    at: datetime,
    period: Period,
    charges: Sequence[InvoiceLine],
    *,
    with_accrued: bool = True,
    posted_at: datetime | None = None,
) -> Outcome:
    """Post ``charges`` (plus the accrued adjustments) as one invoice issued at ``at``.

    Args:
        posted_at: when it is posted (the ``invoice_posted`` event), if later than its
            issue: a draft posted when its window ends (`billing.drafts`).

    Returns:
        The state with the accrued lines consumed, the balance updated and the invoice
        recorded, and the `PostInvoice` + ``invoice_posted`` effects (none when there is
        no line at all).
    """
    lines = [*charges, *(state.accrued if with_accrued else ())]
    state = state.model_copy(update={"accrued": ()}) if with_accrued else state
    if not lines:
        return Outcome(state, [])
    subtotal = sum(item.amount for item in lines)
    raw = subtotal - state.credit_balance
    balance_line, new_balance = (-state.credit_balance, 0) if raw >= 0 else (-subtotal, -raw)
    if balance_line:
        balance = LineItem(kind="credit_balance")
        lines.append(line("credit_balance", balance, "credit balance", 1, balance_line, period))
    total = subtotal + balance_line
    number = f"{state.workspace_id}-{state.invoice_seq + 1:05d}"
    draft = InvoiceDraft(
        number=number,
        issued_at=at,
        period_start=period.start,
        period_end=period.end,
        currency=catalog.currency,
        lines=tuple(lines),
        total=total,
    )
    ref = InvoiceRef(
        number=number,
        issued_at=at,
        total=total,
        status="paid" if total == 0 else "unpaid",
        overdue_at=at + timedelta(days=catalog.dunning.overdue_after_days),
    )
    state = state.model_copy(
        update={
            "credit_balance": new_balance,
            "invoice_seq": state.invoice_seq + 1,
            "invoices": _keep((*state.invoices, ref)),
        }
    )
    effects: list[Effect] = [
        PostInvoice(invoice=draft),
        event("invoice_posted", posted_at or at, number=number, total=total, lines=len(lines)),
    ]
    return Outcome(state, effects)


def _keep(invoices: tuple[InvoiceRef, ...]) -> tuple[InvoiceRef, ...]:
    """The newest invoices, plus any older one still owed (dunning needs it)."""
    cutoff = len(invoices) - INVOICES_KEPT
    return tuple(ref for i, ref in enumerate(invoices) if i >= cutoff or ref.status in {"unpaid", "overdue"})


def seat_item(seat_type: str, cycle: Cycle) -> LineItem:
    return LineItem(kind="seat", code=seat_type, cycle=cycle)


def seat_description(catalog: Catalog, seat_type: str, cycle: str) -> str:
    return f"{catalog.seat_type(seat_type).name} seat ({cycle})"


def seat_price(catalog: Catalog, seat_type: str, cycle: str) -> int:
    """Price of one full term of a seat: the month (monthly) or the 12-period term (annual)."""
    kind = catalog.seat_type(seat_type)
    return kind.monthly_price if cycle == "monthly" else kind.annual_price


def recurring_seat_lines(
    catalog: Catalog,
    seats: dict[str, Seat],
    anchor: datetime,
    period_index: int,
    period: Period,
    *,
    annual_too: bool,
) -> list[InvoiceLine]:
    """In-advance ``seat`` lines: seats held at the period start, grouped by type and cycle.

    Monthly seats are charged for the period; annual seats for their whole term, only
    when ``annual_too`` (a term starts, or a checkout/reactivation opens one).
    """
    term = annual_term(anchor, period_index)
    lines: list[InvoiceLine] = []
    for (seat_type, cycle), count in seat_counts(seats).items():
        if cycle == "annual" and not annual_too:
            continue
        lines.append(
            line(
                "seat",
                seat_item(seat_type, cycle),
                seat_description(catalog, seat_type, cycle),
                count,
                seat_price(catalog, seat_type, cycle),
                period if cycle == "monthly" else term,
            )
        )
    return lines


def seat_term(state: BillingState, cycle: str) -> Period:
    """The window a seat change is prorated over: the monthly period or the annual term."""
    assert state.anchor is not None
    assert state.period is not None
    return state.period if cycle == "monthly" else annual_term(state.anchor, state.period_index)


def remainder_window(at: datetime, term: Period, end: datetime | None = None) -> Period:
    """The days a change at ``at`` affects: from its day (included) to the term end (or to
    ``end``, where the days billed for a seat stop earlier)."""
    return Period(start=max(day_start(at), term.start), end=term.end if end is None else end)


def segment_lines(catalog: Catalog, segment: PlanSegment, end: datetime, month: Period) -> list[InvoiceLine]:
    """In-arrears plan charge of one plan segment ``[segment.start, end)`` of ``month``.

    A segment covering the whole calendar month is a ``plan`` line; any other is a
    ``plan_proration`` of the month's price by days (the day of a change is the new
    plan's). Empty or free segments give no line.
    """
    plan = catalog.plan(segment.plan)
    ratio = span_fraction(segment.start, end, month)
    if ratio == 0 or plan.price == 0:
        return []
    window = Period(start=max(day_start(segment.start), month.start), end=min(day_start(end), month.end))
    item = LineItem(kind="plan", code=plan.code)
    if ratio == 1:
        return [line("plan", item, f"{plan.name} plan", 1, plan.price, window)]
    return [prorated_line("plan_proration", item, f"{plan.name} plan", plan.price, ratio, window)]

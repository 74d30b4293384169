"""Period ends: renewal in advance (seats), the close in arrears (credits), a contract's
end, and the early close of a deletion (SPEC §1, §7).

A period end renews in advance (seats: the next period's seats are charged now) or closes
in arrears (credits: the period's plan days and usage are charged now), applies the pending
change, or ends the paid life when a cancellation falls due. Closes in arrears need the
period's usage totals, which only the database knows (`billing.deadlines.usage_due`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from billing.catalog import Catalog
from billing.changes import evolve
from billing.decision import Outcome, event
from billing.invoicing.charges import recurring_seat_lines, segment_lines
from billing.invoicing.drafts import charge_in_advance
from billing.invoicing.invoices import InvoiceLine, LineItem, line
from billing.invoicing.posting import post_invoice
from billing.periods import Period, anchored_period, calendar_month, is_term_start, span_fraction
from billing.plans import open_arrears_period
from billing.projection import overage, prorated_included_credits
from billing.revert import end_paid_life
from billing.sales_contracts import contract_overage_lines, end_contract, start_contract
from billing.seat_changes import apply_scheduled_seat_changes
from billing.state import PAID_STATUSES, BillingState, seats_held
from billing.terms import paid_stock, release_monthly
from billing.usage import UsageTotals

UsageLookup = Callable[[Period], UsageTotals]


def period_end(state: BillingState, catalog: Catalog, usage: UsageLookup) -> Outcome:
    """Clock: the period (or contract) ends; ``usage`` gives the totals of a window that closes."""
    assert state.period is not None
    if state.contract is not None:
        return end_contract(state, catalog, usage(state.contract.period))
    if catalog.invoicing == "in_arrears":
        return _close_in_arrears(state, catalog, usage(state.period))
    return _renew_in_advance(state, catalog)


def _start_pending_contract(state: BillingState, at: datetime, catalog: Catalog) -> Outcome | None:
    change = state.pending_change
    if change is None or change.kind != "contract" or state.next_contract is None:
        return None
    return start_contract(state, state.next_contract, at, catalog)


def _renew_in_advance(state: BillingState, catalog: Catalog) -> Outcome:
    end, anchor = state.period_end, state.anchor
    assert end is not None
    assert anchor is not None
    if state.cancel_at is not None and state.cancel_at <= end:
        return end_paid_life(state, catalog, end, "canceled")
    state, effects = apply_scheduled_seat_changes(state, end).state_and_effects()
    if state.cancel_at is not None and state.rules >= 2:
        # Cancelled, but annual terms run on: the monthly seats end with this period.
        state, released = release_monthly(state, end).state_and_effects()
        effects += released
    contract = _start_pending_contract(state, end, catalog)
    if contract is not None:
        return Outcome(contract.state, effects + contract.effects)
    held = seats_held(state)
    if not held and (state.rules < 2 or not paid_stock(state, end)):
        ended = end_paid_life(state, catalog, end, "no_paid_seats")
        return Outcome(ended.state, effects + ended.effects)
    index = state.period_index + 1
    period = anchored_period(anchor, index)
    state = evolve(
        state,
        period_index=index,
        period_start=period.start,
        period_end=period.end,
        seat_stock=tuple(s for s in state.seat_stock if s.term_end > end),
    )
    effects.append(event("period_renewed", end, period_start=period.start, period_end=period.end))
    lines = recurring_seat_lines(catalog, held, anchor, index, period, annual_too=is_term_start(index))
    posted = charge_in_advance(state, catalog, end, period, lines)
    return Outcome(posted.state, effects + posted.effects)


def arrears_lines(state: BillingState, catalog: Catalog, usage: UsageTotals) -> list[InvoiceLine]:
    """The closing lines of an in-arrears period: the last plan segment and the usage.

    Earlier segments were accrued when the plan changed. Included credits are prorated
    over all segments and rounded once; the overage is priced at the rate of the plan in
    effect at the period end.
    """
    period = state.period
    assert period is not None
    assert state.plan is not None
    month = calendar_month(period.start)
    segments = state.plan_segments
    lines = segment_lines(catalog, segments[-1], period.end, month)
    ends = [s.start for s in segments[1:]] + [period.end]
    included = prorated_included_credits(
        [
            (catalog.plan(s.plan).included_credits, span_fraction(s.start, e, month))
            for s, e in zip(segments, ends, strict=True)
        ]
    )
    rate = catalog.plan(state.plan).overage_rate
    extra, _charge = overage(usage.credits, included, rate)
    if extra and rate:
        description = f"{extra} credits over {included} included"
        item = LineItem(kind="credits", code=state.plan)
        lines.append(line("credits_overage", item, description, extra, rate, period))
    price = catalog.serverless_minute_price
    if usage.serverless_minutes and price:
        minutes = usage.serverless_minutes
        item = LineItem(kind="serverless_minutes", code=state.plan)
        lines.append(line("serverless_minutes", item, "serverless compute minutes", minutes, price, period))
    return lines


def _close_in_arrears(state: BillingState, catalog: Catalog, usage: UsageTotals) -> Outcome:
    period = state.period
    assert period is not None
    end = period.end
    posted = post_invoice(state, catalog, end, period, arrears_lines(state, catalog, usage))
    state, effects = posted.state, list(posted.effects)
    if state.cancel_at is not None and state.cancel_at <= end:
        ended = end_paid_life(state, catalog, end, "canceled")
        return Outcome(ended.state, effects + ended.effects)
    contract = _start_pending_contract(state, end, catalog)
    if contract is not None:
        return Outcome(contract.state, effects + contract.effects)
    plan = state.plan
    assert plan is not None
    change = state.pending_change
    if change is not None and change.kind == "plan" and change.to_plan is not None:
        effects.append(event("plan_changed", end, from_plan=plan, to_plan=change.to_plan))
        plan = change.to_plan
    state = evolve(open_arrears_period(state, end, plan), status=state.status)
    effects.append(event("period_renewed", end, period_start=end, period_end=state.period_end))
    return Outcome(state, effects)


def final_usage_window(state: BillingState, at: datetime, catalog: Catalog) -> Period | None:
    """The window a deletion at ``at`` closes early: the used part of the open in-arrears
    period (or contract), whose plan days and usage are billed on a final invoice."""
    period = state.period
    if state.rules < 2 or state.status not in PAID_STATUSES or period is None or at <= period.start:
        return None
    if state.contract is None and catalog.invoicing != "in_arrears":
        return None  # in advance: the period was billed when it began
    return Period(start=period.start, end=min(at, period.end))


def close_early(state: BillingState, catalog: Catalog, window: Period, usage: UsageTotals) -> Outcome:
    """The final invoice of a period cut short at ``window.end`` (delete everything).

    In arrears: the plan prorated to the deletion day (that day is not billed), the
    included credits prorated alike, overage and serverless minutes so far. Under a
    contract (paid in advance): the overage so far at the contract's rates.
    """
    at = window.end
    if state.contract is not None:
        lines = contract_overage_lines(state.contract, usage)
    else:
        lines = arrears_lines(evolve(state, period_end=at), catalog, usage)
    return post_invoice(state, catalog, at, window, lines)

"""Clock events: everything that happens because time passed (SPEC §1, §2, §3).

`advance` processes every deadline ``<= at`` in time order (ties in a fixed order:
draft invoice posting, trial end, invoice overdue, seat stock release, data-source
deletion or the end of a prepaid annual term, period end: a draft's agreed charges post
before anything else happens, and a prepaid term ending at a renewal joins its invoice).
Period ends renew in advance (seats) or close in arrears (credits), apply the pending
change, or end the paid life when a cancellation falls due.

In-arrears closes need the period's usage totals, which only the database knows: the
workflow asks `usage_due(state, at, catalog)` which windows it needs, reads them, and
passes them to `advance(..., usage={period: totals})`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from billing.catalog import Catalog
from billing.commands import Command, DeleteWorkspaceCommand
from billing.contracts import contract_overage_lines, end_contract, start_contract
from billing.decision import Decision, Outcome, event
from billing.drafts import charge_in_advance, post_open_invoice
from billing.dunning import mark_overdue
from billing.effects import DeleteDataSource, Effect
from billing.errors import USAGE_MISSING, DomainError
from billing.invoices import InvoiceLine, LineItem, line
from billing.invoicing import post_invoice, recurring_seat_lines, segment_lines
from billing.periods import Period, anchored_period, calendar_month, is_term_start, span_fraction
from billing.plans import end_trial, open_arrears_period
from billing.projection import overage, prorated_included_credits
from billing.revert import end_paid_life
from billing.seats import apply_scheduled_seat_changes
from billing.state import PAID_STATUSES, BillingState, seats_held
from billing.terms import paid_stock, release_monthly, top_up
from billing.usage import UsageTotals

UsageLookup = Callable[[Period], UsageTotals]
_MAX_STEPS = 10_000


def _deadlines(state: BillingState) -> list[tuple[datetime, int, str]]:
    if state.status == "deleted":
        return []
    found: list[tuple[datetime, int, str]] = []
    if state.open_invoice is not None:
        found.append((state.open_invoice.finalize_at, 0, "finalize"))
    if state.status == "trialing" and state.trial is not None:
        found.append((state.trial.ends_at, 1, "trial_end"))
    found += [(r.overdue_at, 2, f"overdue:{r.number}") for r in state.invoices if r.status == "unpaid"]
    found += [(s.reassignable_at, 3, f"stock:{i}") for i, s in enumerate(state.seat_stock) if not s.released]
    found += [(d.delete_at, 4, f"delete:{d.data_source_id}") for d in state.data_source_deletions]
    if state.status in PAID_STATUSES:
        found += [(p.paid_until, 4, f"prepaid:{p.user}") for p in state.prepaid_seats]
    if state.status in PAID_STATUSES and state.period_end is not None:
        found.append((state.period_end, 5, "period_end"))
    return found


def next_deadline(state: BillingState) -> datetime | None:
    """The earliest instant at which `advance` has something to do, or None."""
    return min((d[0] for d in _deadlines(state)), default=None)


def advance(
    state: BillingState,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals] | None = None,
) -> Decision:
    """Process every deadline ``<= at``, earliest first.

    Args:
        usage: totals per in-arrears window that closes (see `usage_due`).

    Raises:
        DomainError: ``usage_missing`` when a closing window's totals were not given.
    """
    given = usage or {}

    def lookup(period: Period) -> UsageTotals:
        if period in given:
            return given[period]
        raise usage_missing(period)

    return _run(state, at, catalog, lookup)


def usage_missing(period: Period) -> DomainError:
    """The refusal to decide without the usage totals of ``period`` (the workflow reads them)."""
    return DomainError(
        USAGE_MISSING,
        "usage totals are needed to close this period",
        {"period_start": period.start.isoformat(), "period_end": period.end.isoformat()},
    )


def usage_due(
    state: BillingState, at: datetime, catalog: Catalog, command: Command | None = None
) -> list[Period]:
    """The usage windows `advance` (then ``command``) will need at ``at``.

    In-arrears and contract ends; and for a deletion, the used part of the open period.
    """
    needed: list[Period] = []

    def record(period: Period) -> UsageTotals:
        needed.append(period)
        return UsageTotals()

    caught_up = _run(state, at, catalog, record)
    if isinstance(command, DeleteWorkspaceCommand):
        window = final_usage_window(caught_up.state, at, catalog)
        if window is not None:
            needed.append(window)
    return needed


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
        lines = arrears_lines(state.model_copy(update={"period_end": at}), catalog, usage)
    return post_invoice(state, catalog, at, window, lines)


def _run(state: BillingState, at: datetime, catalog: Catalog, usage: UsageLookup) -> Decision:
    effects: list[Effect] = []
    for _ in range(_MAX_STEPS):
        due = sorted(d for d in _deadlines(state) if d[0] <= at)
        if not due:
            return Decision(state=state, effects=effects)
        when, _order, key = due[0]
        state, more = _handle(state, when, key, catalog, usage)[:2]
        effects += more
    raise AssertionError("advance made no progress")  # pragma: no cover


def _handle(state: BillingState, when: datetime, key: str, catalog: Catalog, usage: UsageLookup) -> Outcome:
    kind, _, ref = key.partition(":")
    if kind == "finalize":
        return post_open_invoice(state, catalog, when)
    if kind == "trial_end":
        return end_trial(state, catalog)
    if kind == "overdue":
        return mark_overdue(state, ref, when)
    if kind == "stock":
        index = int(ref)
        stock = state.seat_stock[index]
        released = stock.model_copy(update={"released": True})
        seat_stock = (*state.seat_stock[:index], released, *state.seat_stock[index + 1 :])
        state = state.model_copy(update={"seat_stock": seat_stock})
        return Outcome(state, [event("seat_stock_released", when, seat_type=stock.seat_type)])
    if kind == "prepaid":
        return top_up(state, ref, when, catalog)
    if kind == "delete":
        remaining = tuple(d for d in state.data_source_deletions if d.data_source_id != ref)
        state = state.model_copy(update={"data_source_deletions": remaining})
        # The timeline row (data_source_deleted) is written by the activity that deletes
        # it, like every per-item event of a revert: it acts on the real rows.
        effects: list[Effect] = [DeleteDataSource(at=when, data_source_id=ref)]
        return Outcome(state, effects)
    return _period_end(state, catalog, usage)


def _period_end(state: BillingState, catalog: Catalog, usage: UsageLookup) -> Outcome:
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
    state, effects = apply_scheduled_seat_changes(state, end)[:2]
    if state.cancel_at is not None and state.rules >= 2:
        # Cancelled, but annual terms run on: the monthly seats end with this period.
        state, released = release_monthly(state, end)[:2]
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
    state = state.model_copy(
        update={
            "period_index": index,
            "period_start": period.start,
            "period_end": period.end,
            "seat_stock": tuple(s for s in state.seat_stock if s.term_end > end),
        }
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
    state = open_arrears_period(state, end, plan).model_copy(update={"status": state.status})
    effects.append(event("period_renewed", end, period_start=end, period_end=state.period_end))
    return Outcome(state, effects)

"""Clock events: everything that happens because time passed (SPEC §1, §2, §3).

`advance` processes every deadline ``<= at`` in time order (ties in a fixed order:
draft invoice posting, trial end, the trial-ending notice, invoice overdue, seat stock release, data-source
deletion or the end of a prepaid annual term, period end: a draft's agreed charges post
before anything else happens, and a prepaid term ending at a renewal joins its invoice).
What a period end does is `billing.renewal`.

In-arrears closes need the period's usage totals, which only the database knows: the
workflow asks `usage_due(state, at, catalog)` which windows it needs, reads them, and
passes them to `advance(..., usage={period: totals})`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, NamedTuple

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import Command, DeleteWorkspaceCommand
from billing.decision import Decision, Outcome, event
from billing.effects import DeleteDataSource, Effect
from billing.errors import USAGE_MISSING, DomainError
from billing.invoicing.drafts import post_open_invoice
from billing.invoicing.dunning import mark_overdue
from billing.periods import Period
from billing.plans import end_trial, notify_trial_end, trial_notice_at
from billing.renewal import UsageLookup, final_usage_window, period_end
from billing.state import PAID_STATUSES, BillingState
from billing.terms import top_up
from billing.usage import UsageTotals

_MAX_STEPS = 10_000

DeadlineKind = Literal[
    "finalize", "trial_end", "trial_notice", "overdue", "stock", "delete", "prepaid", "period_end"
]


class Deadline(NamedTuple):
    """Something due at ``at``, sorting by instant, then ``order`` (the tie order above),
    then kind and ``ref``.

    That is exactly how the string keys it replaces (``"overdue:{number}"``,
    ``"stock:{i}"``...) sorted, so coinciding deadlines are handled in the order recorded
    histories saw; for the same reason ``ref`` stays a string, a stock index too.
    """

    at: datetime
    order: int
    kind: DeadlineKind
    ref: str = ""
    """The invoice number, stock index, data source id or user the deadline is about."""


def deadlines(state: BillingState) -> list[Deadline]:
    """Every pending deadline of ``state``, unsorted."""
    if state.status == "deleted":
        return []
    found: list[Deadline] = []
    if state.open_invoice is not None:
        found.append(Deadline(state.open_invoice.finalize_at, 0, "finalize"))
    if state.status == "trialing" and state.trial is not None:
        found.append(Deadline(state.trial.ends_at, 1, "trial_end"))
    notice = trial_notice_at(state)
    if notice is not None:
        # Order 1 too: it never coincides with its own trial end (3 days before, or the start).
        found.append(Deadline(notice, 1, "trial_notice"))
    found += [Deadline(r.overdue_at, 2, "overdue", r.number) for r in state.invoices if r.status == "unpaid"]
    found += [
        Deadline(s.reassignable_at, 3, "stock", str(i))
        for i, s in enumerate(state.seat_stock)
        if not s.released
    ]
    found += [Deadline(d.delete_at, 4, "delete", d.data_source_id) for d in state.data_source_deletions]
    if state.status in PAID_STATUSES:
        found += [Deadline(p.paid_until, 4, "prepaid", p.user) for p in state.prepaid_seats]
    if state.status in PAID_STATUSES and state.period_end is not None:
        found.append(Deadline(state.period_end, 5, "period_end"))
    return found


def next_deadline(state: BillingState) -> datetime | None:
    """The earliest instant at which `advance` has something to do, or None."""
    return min((d.at for d in deadlines(state)), default=None)


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


def _run(state: BillingState, at: datetime, catalog: Catalog, usage: UsageLookup) -> Decision:
    effects: list[Effect] = []
    for _ in range(_MAX_STEPS):
        due = sorted(d for d in deadlines(state) if d.at <= at)
        if not due:
            return Decision(state=state, effects=effects)
        state, more = _handle(state, due[0], catalog, usage).state_and_effects()
        effects += more
    raise AssertionError("advance made no progress")  # pragma: no cover


def _handle(state: BillingState, due: Deadline, catalog: Catalog, usage: UsageLookup) -> Outcome:
    when, ref = due.at, due.ref
    match due.kind:
        case "finalize":
            return post_open_invoice(state, catalog, when)
        case "trial_end":
            return end_trial(state, catalog)
        case "trial_notice":
            return notify_trial_end(state, when)
        case "overdue":
            return mark_overdue(state, ref, when)
        case "stock":
            return _release_stock(state, int(ref), when)
        case "prepaid":
            return top_up(state, ref, when, catalog)
        case "delete":
            remaining = tuple(d for d in state.data_source_deletions if d.data_source_id != ref)
            state = evolve(state, data_source_deletions=remaining)
            # The timeline row (data_source_deleted) is written by the activity that deletes
            # it, like every per-item event of a revert: it acts on the real rows.
            effects: list[Effect] = [DeleteDataSource(at=when, data_source_id=ref)]
            return Outcome(state, effects)
        case "period_end":
            return period_end(state, catalog, usage)


def _release_stock(state: BillingState, index: int, when: datetime) -> Outcome:
    stock = state.seat_stock[index]
    released = evolve(stock, released=True)
    seat_stock = (*state.seat_stock[:index], released, *state.seat_stock[index + 1 :])
    state = evolve(state, seat_stock=seat_stock)
    return Outcome(state, [event("seat_stock_released", when, seat_type=stock.seat_type)])

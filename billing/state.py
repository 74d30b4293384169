"""The subscription state: one model carried across continue-as-new (JSON round-trips).

Transitions never mutate a state: they return ``evolve(state, ...)`` (`billing.changes`). History
that must never be overwritten (the seat ledger) is append-only; the views a rule needs
(seats held now, seats at the next renewal, reassignable stock) are derived from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from billing.changes import evolve
from billing.invoicing.invoices import InvoiceLine, InvoiceRef, OpenInvoice
from billing.periods import Cycle as Cycle  # commands name it from here
from billing.periods import Period
from billing.usage import UtcDatetime
from billing.workspace import ScheduledDeletion

Status = Literal[
    "trialing", "trial_expired", "active", "canceling", "past_due", "free", "canceled", "deleted"
]

PAID_STATUSES: frozenset[str] = frozenset({"active", "canceling", "past_due"})
# The version of the lifecycle rules new subscriptions decide by. Version 2 (2026-12): the
# end of what is paid (annual terms, stock, no free-tier revert without a free plan, the
# final in-arrears invoice of a deletion, contract_scheduled). Version 3 (2026-12): the days
# billed for a seat remembered at a revert outlive the checkout that opens the next paid life
# (`billing.terms.reclaim_billed_days`). Version 4 (2026-12): the trial-ending notice
# (`trial_will_end` and its e-mail, `billing.plans.trial_notice_at`). Version 5 (2026-12): the
# billed days remembered at a revert and not given back outlive the next revert too
# (`billing.terms.restorable_seats`). A state carried from a run
# recorded before a change keeps deciding by its version until the workflow moves it on
# behind `workflow.patched`, so a replay issues exactly the commands it recorded.
CURRENT_RULES = 5
PROCESSED_WINDOW = 500
INVOICES_KEPT = 24


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Member(_Model):
    """A workspace member. Suspended members (after a revert) keep their record."""

    role: str
    role_granted_at: UtcDatetime
    status: Literal["active", "suspended"] = "active"


class Trial(_Model):
    """A trial of exactly ``trial_days`` from ``started_at``; the plan it converts to."""

    started_at: UtcDatetime
    ends_at: UtcDatetime
    selected_plan: str | None = None
    noticed_end: UtcDatetime | None = None  # the end the trial-ending notice announced (rules 4)


class PendingChange(_Model):
    """A change scheduled for ``effective_at`` (a period end), not a status.

    ``kind="plan"`` moves to ``to_plan``; ``kind="seat_type"`` moves ``user``'s seat to
    ``to_seat_type``; ``kind="contract"`` starts the stored next contract.
    """

    kind: Literal["plan", "seat_type", "contract"]
    effective_at: UtcDatetime
    to_plan: str | None = None
    user: str | None = None
    to_seat_type: str | None = None


class SeatEntry(_Model):
    """One append-only ledger row: ``quantity`` is +1 (assigned) or -1 (released)."""

    user: str
    seat_type: str
    cycle: Cycle
    quantity: Literal[1, -1]
    at: UtcDatetime
    reason: str


class Seat(_Model):
    """A seat held now (derived from the ledger).

    ``paid_until`` is set only on a seat remembered at a revert (``restorable_seats``):
    the end of the annual term it was billed for, so a reactivation before then does not
    bill those days again.
    """

    user: str
    seat_type: str
    cycle: Cycle
    since: UtcDatetime
    paid_until: UtcDatetime | None = None


class PrepaidSeat(_Model):
    """An annual seat billed until ``paid_until`` by an earlier paid life or stock seat.

    Its term does not match the current anchor's annual term: at ``paid_until`` the days
    from there to the anchored term end are charged on the next invoice (`billing.terms`).
    """

    user: str
    paid_until: UtcDatetime


class StockSeat(_Model):
    """An unassigned annual seat, paid until ``term_end``, reassignable from ``reassignable_at``."""

    seat_type: str
    term_end: UtcDatetime
    reassignable_at: UtcDatetime
    released: bool = False


class ContractPricing(_Model):
    """What a sales contract sells (SPEC §1.3), amounts in minor units.

    Declared once: the state's `Contract`, the `SetContract` command and every edge that
    sets a contract (the API body, the CLI's options, simulate's verb) are built from it.
    """

    plan: str = Field(min_length=1, max_length=64, description="A sales-assisted plan (pro, enterprise).")
    price: int = Field(ge=0, le=10**12, description="Contract price, invoiced at the start.")
    credits: int = Field(default=0, ge=0, le=10**12, description="Credits in the contract.")
    rollover_credits: int = Field(default=0, ge=0, le=10**12, description="Credits rolled over.")
    serverless_minutes: int = Field(default=0, ge=0, le=10**12, description="Serverless minutes in it.")
    credit_overage_rate: int = Field(default=0, ge=0, le=10**9, description="Per credit beyond them.")
    minute_overage_rate: int = Field(default=0, ge=0, le=10**9, description="Per minute beyond them.")
    seat_unit_price: int = Field(default=0, ge=0, le=10**9, description="Per seat bought under it.")


class ContractTerms(ContractPricing):
    """A contract's pricing and the dates it runs between."""

    starts_at: UtcDatetime
    ends_at: UtcDatetime


class Contract(ContractTerms):
    """A sales contract (SPEC §1.3), set by support staff."""

    @property
    def period(self) -> Period:
        return Period(start=self.starts_at, end=self.ends_at)


class SeatRequest(_Model):
    """A request to buy more seats under a contract: recorded for sales, charged at the
    contract's seat unit price once support staff approve it."""

    id: str
    quantity: int = Field(ge=1)
    requested_at: UtcDatetime
    requested_by: str | None = None
    note: str | None = None
    status: Literal["pending", "approved"] = "pending"
    approved_at: UtcDatetime | None = None
    approved_by: str | None = None


class PlanSegment(_Model):
    """The plan in effect from ``start`` within the current in-arrears period."""

    plan: str
    start: UtcDatetime


class CommandResult(_Model):
    """What a command did; remembered per request id so a repeat returns it unchanged."""

    request_id: str
    kind: str
    message: str
    status: Status
    plan: str | None
    effective_at: UtcDatetime | None = None
    invoice_number: str | None = None


class BillingState(_Model):
    """Everything the subscription workflow carries. See module docstring."""

    workspace_id: str
    catalog_name: str
    status: Status
    rules: int = 1  # see CURRENT_RULES; states written before the field existed are 1
    plan: str | None = None
    trial: Trial | None = None
    anchor: UtcDatetime | None = None
    period_index: int = 0
    period_start: UtcDatetime | None = None
    period_end: UtcDatetime | None = None
    plan_segments: tuple[PlanSegment, ...] = ()
    pending_change: PendingChange | None = None
    pending_seat_changes: tuple[PendingChange, ...] = ()
    cancel_at: UtcDatetime | None = None
    cancel_reason: str | None = None
    cancel_actor: str | None = None
    members: dict[str, Member] = Field(default_factory=dict)
    seat_ledger: tuple[SeatEntry, ...] = ()
    seat_stock: tuple[StockSeat, ...] = ()
    restorable_seats: tuple[Seat, ...] = ()
    prepaid_seats: tuple[PrepaidSeat, ...] = ()
    contract: Contract | None = None
    next_contract: Contract | None = None
    seat_requests: tuple[SeatRequest, ...] = ()
    credit_balance: int = 0
    accrued: tuple[InvoiceLine, ...] = ()
    open_invoice: OpenInvoice | None = None
    invoices: tuple[InvoiceRef, ...] = ()
    invoice_seq: int = 0
    processed: dict[str, CommandResult] = Field(default_factory=dict)
    data_source_deletions: tuple[ScheduledDeletion, ...] = ()
    # The agents the last revert deactivated: a reactivation brings exactly these back.
    deactivated_agents: tuple[str, ...] = ()
    reverted_at: UtcDatetime | None = None
    deleted_at: UtcDatetime | None = None

    @property
    def period(self) -> Period | None:
        """The current billing period (or contract), if one is running."""
        if self.period_start is None or self.period_end is None:
            return None
        return Period(start=self.period_start, end=self.period_end)

    def active_members(self) -> list[str]:
        return sorted(u for u, m in self.members.items() if m.status == "active")


def without_cancellation(state: BillingState) -> BillingState:
    """``state`` with its pending cancellation withdrawn (``past_due`` stays ``past_due``)."""
    status: Status = "past_due" if state.status == "past_due" else "active"
    return evolve(state, status=status, cancel_at=None, cancel_reason=None, cancel_actor=None)


def seats_held(state: BillingState) -> dict[str, Seat]:
    """Seats held now, per user, replayed from the append-only ledger."""
    held: dict[str, Seat] = {}
    for entry in state.seat_ledger:
        if entry.quantity == 1:
            held[entry.user] = Seat(
                user=entry.user, seat_type=entry.seat_type, cycle=entry.cycle, since=entry.at
            )
        else:
            held.pop(entry.user, None)
    return held


def seat_counts(seats: dict[str, Seat]) -> dict[tuple[str, Cycle], int]:
    """Seats per (type, cycle), sorted by type then cycle."""
    counts: dict[tuple[str, Cycle], int] = {}
    for seat in seats.values():
        key = (seat.seat_type, seat.cycle)
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def seats_at_next_renewal(state: BillingState) -> dict[str, Seat]:
    """Seats held once the pending seat-type downgrades due at the period end have taken
    effect (an annual seat's downgrade waits for its term end)."""
    held = seats_held(state)
    for change in state.pending_seat_changes:
        if state.period_end is not None and change.effective_at > state.period_end:
            continue
        seat = held.get(change.user or "")
        if seat is not None and change.to_seat_type is not None:
            held[seat.user] = evolve(seat, seat_type=change.to_seat_type)
    return held


def reassignable_stock(state: BillingState, seat_type: str, at: datetime) -> int | None:
    """Index of a stock seat of ``seat_type`` that may be reassigned at ``at``, if any."""
    for index, stock in enumerate(state.seat_stock):
        if stock.seat_type == seat_type and stock.reassignable_at <= at < stock.term_end:
            return index
    return None

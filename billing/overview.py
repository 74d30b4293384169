"""The billing overview (SPEC §5) as far as the subscription state knows it.

`overview` is pure: the workflow's `billing_overview` query returns it, and the API
and CLI add what only the database knows (payment method, tax ids, usage roll-ups).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from billing.allowance import Allowance, allowance
from billing.catalog import Catalog
from billing.invoicing.dunning import next_retry
from billing.members import paid_user_limit
from billing.retention import free_limit_warnings
from billing.state import BillingState, Contract, SeatRequest, seat_counts, seats_at_next_renewal, seats_held
from billing.usage import UtcDatetime

RECENT_INVOICES = 5


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class PlanCard(_View):
    """One plan of the grid."""

    code: str
    name: str
    current: bool
    self_serve: bool
    contact_sales: bool
    price: int


class TrialBanner(_View):
    """The trial banner in either variant of SPEC §2."""

    ends_at: UtcDatetime
    selected_plan: str | None
    message: str


class PendingChangeView(_View):
    """A change scheduled for a date."""

    kind: str
    effective_at: UtcDatetime
    to_plan: str | None = None
    user: str | None = None
    to_seat_type: str | None = None


class SeatGroup(_View):
    """Paid seats of one type and cycle: now and at the next renewal."""

    seat_type: str
    cycle: str
    count: int
    at_next_renewal: int


class InvoiceSummary(_View):
    """A recent invoice as the billing page lists it."""

    number: str
    issued_at: UtcDatetime
    total: int
    status: str


class Overview(_View):
    """Everything the billing page shows that the subscription state knows."""

    workspace_id: str
    catalog: str
    currency: str
    status: str
    plan: str | None
    plans: tuple[PlanCard, ...]
    trial: TrialBanner | None
    period_start: UtcDatetime | None
    period_end: UtcDatetime | None
    pending_changes: tuple[PendingChangeView, ...]
    cancel_at: UtcDatetime | None
    paid_seats: tuple[SeatGroup, ...]
    paid_seat_count: int
    seat_limit: int | None
    seat_stock: int
    credit_balance: int
    contract: Contract | None = None
    next_contract: Contract | None = None
    allowance: Allowance | None = None
    seat_requests: tuple[SeatRequest, ...] = ()
    recent_invoices: tuple[InvoiceSummary, ...]
    warnings: tuple[str, ...]


def _trial(state: BillingState) -> TrialBanner | None:
    if state.status != "trialing" or state.trial is None:
        return None
    trial = state.trial
    if trial.selected_plan is None:
        message = "No plan selected: billing will not start until a plan is chosen."
    else:
        message = f"The {trial.selected_plan} plan and billing begin on {trial.ends_at.date().isoformat()}."
    return TrialBanner(ends_at=trial.ends_at, selected_plan=trial.selected_plan, message=message)


def _seat_groups(state: BillingState) -> tuple[SeatGroup, ...]:
    now = seat_counts(seats_held(state))
    later = seat_counts(seats_at_next_renewal(state))
    keys = sorted(set(now) | set(later))
    return tuple(
        SeatGroup(seat_type=t, cycle=c, count=now.get((t, c), 0), at_next_renewal=later.get((t, c), 0))
        for t, c in keys
    )


def _warnings(state: BillingState, catalog: Catalog, at: datetime) -> tuple[str, ...]:
    found: list[str] = []
    if state.status == "free":
        # Members from the roster here; connectors and spaces are the product's data: the API's
        # overview adds those (`billing.retention.free_limit_warnings`, one rule for all three).
        found += free_limit_warnings(catalog.free_limits(), members=len(state.active_members()))
    for invoice in state.invoices:
        if invoice.status not in {"unpaid", "overdue"}:
            continue
        if invoice.status == "unpaid" and invoice.payment_failed_at is None:
            continue  # not attempted yet, or the first attempt is still running
        if invoice.action_required:
            where = f" on {invoice.action_url}" if invoice.action_url else " on its payment page"
            found.append(
                f"Payment needs the customer's action: invoice {invoice.number} requires the card "
                f"to be authenticated (3-D Secure); pay it{where}. It is not retried automatically."
            )
            continue
        retry = next_retry(invoice, catalog, at)
        then = f" Next attempt on {retry.date().isoformat()}." if retry else " No attempt is left."
        state_of = "is overdue" if invoice.status == "overdue" else "could not be collected"
        found.append(f"Payment failed: invoice {invoice.number} {state_of}.{then}")
    for deletion in state.data_source_deletions:
        if deletion.delete_at > at:
            found.append(
                f"Data source {deletion.data_source_id} will be deleted on "
                f"{deletion.delete_at.date().isoformat()} unless the workspace is reactivated."
            )
    if state.status == "trial_expired":
        found.append("The trial has ended: select a plan to continue.")
    return tuple(found)


def email_warning(template: str, recipients: Sequence[str], error: str, delivered: bool) -> str:
    """The overview's line for an e-mail the relay could not deliver to everyone: which one,
    to whom, and the server's answer (``delivered``: it reached ``recipients``, others
    refused it)."""
    label = template.replace("_", " ")
    to = f" to {', '.join(recipients)}" if recipients else ""
    if error.startswith("no recipient"):
        return (
            f"The {label} e-mail could not be sent: nobody to write to "
            "(set a billing contact, or give an active member a billing-admin role)."
        )
    if delivered:
        return f"An e-mail ({label}) reached {', '.join(recipients) or 'nobody'} but was {error}"
    if error.startswith("refused: "):
        return f"An e-mail ({label}){to} was refused: {error.removeprefix('refused: ')}"
    return f"An e-mail ({label}){to} could not be sent: {error}"


def overview(state: BillingState, catalog: Catalog, at: datetime) -> Overview:
    """The overview of ``state`` as of ``at``."""
    groups = _seat_groups(state)
    seat_plan = catalog.plans.get(catalog.seat_plan or "")
    if catalog.seat_based:
        paid_count, limit = sum(g.count for g in groups), seat_plan.max_seats if seat_plan else None
    else:
        # Credits catalog: the paid seats are the members with a paid role (SPEC §5).
        paid_count = sum(
            1 for m in state.members.values() if m.status == "active" and m.role in catalog.roles.paid
        )
        limit = paid_user_limit(state, catalog)
    pending = [state.pending_change] if state.pending_change else []
    pending += list(state.pending_seat_changes)
    return Overview(
        workspace_id=state.workspace_id,
        catalog=catalog.name,
        currency=catalog.currency,
        status=state.status,
        plan=state.plan,
        plans=tuple(
            PlanCard(
                code=p.code,
                name=p.name,
                current=p.code == state.plan,
                self_serve=p.self_serve,
                contact_sales=not p.self_serve,
                price=p.price,
            )
            for p in sorted(catalog.plans.values(), key=lambda p: p.rank)
        ),
        trial=_trial(state),
        period_start=state.period_start,
        period_end=state.period_end,
        pending_changes=tuple(
            PendingChangeView(
                kind=c.kind,
                effective_at=c.effective_at,
                to_plan=c.to_plan,
                user=c.user,
                to_seat_type=c.to_seat_type,
            )
            for c in pending
        ),
        cancel_at=state.cancel_at,
        paid_seats=groups,
        paid_seat_count=paid_count,
        seat_limit=limit,
        # Stock seats stay in stock until their term ends; `released` only says they may
        # be reassigned already.
        seat_stock=sum(1 for s in state.seat_stock if s.term_end > at),
        credit_balance=state.credit_balance,
        recent_invoices=tuple(
            InvoiceSummary(number=i.number, issued_at=i.issued_at, total=i.total, status=i.status)
            for i in reversed(state.invoices[-RECENT_INVOICES:])
        ),
        contract=state.contract,
        next_contract=state.next_contract,
        allowance=allowance(state, catalog, at),
        seat_requests=state.seat_requests,
        warnings=_warnings(state, catalog, at),
    )

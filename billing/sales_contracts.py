"""Sales contracts (SPEC §1.3): set by support staff, invoiced at the start, overage at the end.

A contract starts now (from a trial, an expired trial, the free plan or a canceled
subscription) or exactly when the current paid period or contract ends (a
`PendingChange` of kind ``contract``). At its end the overage is invoiced at the
contract's rates; unused credits expire; without a follow-up contract the paid life ends.
"""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import ApproveSeats, RequestSeats, SetContract
from billing.decision import Outcome, event, require_status
from billing.effects import Effect
from billing.errors import CONTRACT_SCHEDULED, INVALID_ARGUMENT, NOT_ALLOWED_IN_STATUS, DomainError
from billing.invoicing.drafts import charge_in_advance
from billing.invoicing.invoices import InvoiceLine, LineItem, line
from billing.invoicing.posting import post_invoice
from billing.periods import Period
from billing.revert import end_paid_life, restore
from billing.state import (
    PAID_STATUSES,
    BillingState,
    Contract,
    PendingChange,
    SeatRequest,
    without_cancellation,
)
from billing.usage import UsageTotals


def set_contract(state: BillingState, cmd: SetContract, at: datetime, catalog: Catalog) -> Outcome:
    """Record a contract for a sales-assisted plan; start it now or at the period end."""
    plan = catalog.plan(cmd.plan)
    if plan.self_serve:
        raise DomainError(
            INVALID_ARGUMENT, f"{plan.name} is self-serve: contracts are for sales-assisted plans"
        )
    if cmd.ends_at <= max(cmd.starts_at, at):
        raise DomainError(INVALID_ARGUMENT, "the contract must end after it starts and after now")
    require_status(state, {"trialing", "trial_expired", "free", "canceled", *PAID_STATUSES}, "set a contract")
    contract = Contract.model_validate(cmd.model_dump(exclude={"kind", "request_id", "actor"}))
    if state.status in PAID_STATUSES:
        boundary = state.period_end
        if cmd.starts_at != boundary:
            raise DomainError(
                INVALID_ARGUMENT,
                "a contract for a paid workspace starts when the current period ends",
                {"starts_at": boundary.isoformat() if boundary else None},
            )
        effects: list[Effect] = []
        if state.cancel_at is not None and state.rules >= 2:
            # The contract is what follows this period: a pending cancellation would end the
            # paid life first and the contract would never start (SPEC §2).
            state = without_cancellation(state)
            effects.append(event("cancellation_cleared", at, actor=cmd.actor, reason="contract_scheduled"))
        boundary = state.period_end
        assert boundary is not None
        change = PendingChange(kind="contract", effective_at=boundary, to_plan=plan.code)
        state = evolve(state, next_contract=contract, pending_change=change)
        effects.append(event("contract_scheduled", at, plan=plan.code, starts_at=boundary))
        return Outcome(state, effects, f"contract starts {boundary.date()}", boundary)
    if cmd.starts_at > at:
        raise DomainError(INVALID_ARGUMENT, "this contract must start now (starts_at <= now)")
    return start_contract(state, contract, at, catalog)


def contract_scheduled(state: BillingState) -> DomainError:
    """The refusal of a self-serve change while a sales contract is scheduled (SPEC §2)."""
    contract = state.next_contract
    assert contract is not None
    return DomainError(
        CONTRACT_SCHEDULED,
        f"a sales contract for {contract.plan} starts {contract.starts_at.date()}: "
        "contact sales to change it",
        {"plan": contract.plan, "starts_at": contract.starts_at.isoformat()},
    )


def unschedule_contract(state: BillingState, at: datetime) -> Outcome:
    """Drop the scheduled contract (support staff cancelling the subscription), recorded."""
    contract = state.next_contract
    assert contract is not None
    pending = (
        state.pending_change if state.pending_change and state.pending_change.kind != "contract" else None
    )
    state = evolve(state, next_contract=None, pending_change=pending)
    return Outcome(
        state, [event("contract_unscheduled", at, plan=contract.plan, starts_at=contract.starts_at)]
    )


def start_contract(state: BillingState, contract: Contract, at: datetime, catalog: Catalog) -> Outcome:
    """Begin ``contract``: plan, contract period, and its price invoiced in advance (drafted)."""
    effects: list[Effect] = []
    if state.reverted_at is not None:
        state, effects = restore(state, at).state_and_effects()
    previous = state.plan
    state = evolve(
        state,
        status="active",
        plan=contract.plan,
        trial=None,
        contract=contract,
        next_contract=None,
        pending_change=None,
        pending_seat_changes=(),
        plan_segments=(),
        period_start=contract.starts_at,
        period_end=contract.ends_at,
    )
    effects += [
        event("contract_started", at, plan=contract.plan, ends_at=contract.ends_at),
        event("plan_changed", at, from_plan=previous, to_plan=contract.plan),
    ]
    name = catalog.plan(contract.plan).name
    item = LineItem(kind="contract", code=contract.plan)
    charges = [line("contract", item, f"{name} contract", 1, contract.price, contract.period)]
    charges = [c for c in charges if c.amount]
    posted = charge_in_advance(state, catalog, at, contract.period, charges)
    return Outcome(posted.state, effects + posted.effects, f"{name} contract active", at)


def contract_overage_lines(contract: Contract, usage: UsageTotals) -> list[InvoiceLine]:
    """Overage of a whole contract, at the contract's rates (unused credits expire)."""
    lines: list[InvoiceLine] = []
    allowance = contract.credits + contract.rollover_credits
    extra = max(0, usage.credits - allowance)
    if extra and contract.credit_overage_rate:
        lines.append(
            line(
                "credits_overage",
                LineItem(kind="credits", code=contract.plan),
                f"{extra} credits over {allowance} in contract",
                extra,
                contract.credit_overage_rate,
                contract.period,
            )
        )
    minutes = max(0, usage.serverless_minutes - contract.serverless_minutes)
    if minutes and contract.minute_overage_rate:
        lines.append(
            line(
                "serverless_minutes",
                LineItem(kind="serverless_minutes", code=contract.plan),
                f"{minutes} serverless minutes over {contract.serverless_minutes} in contract",
                minutes,
                contract.minute_overage_rate,
                contract.period,
            )
        )
    return lines


def end_contract(state: BillingState, catalog: Catalog, usage: UsageTotals) -> Outcome:
    """Clock: the contract ends; invoice its overage, then the next contract or the end."""
    contract = state.contract
    assert contract is not None
    at = contract.ends_at
    posted = post_invoice(state, catalog, at, contract.period, contract_overage_lines(contract, usage))
    state = evolve(posted.state, contract=None)
    effects = [*posted.effects, event("contract_ended", at, plan=contract.plan)]
    if state.next_contract is not None and state.cancel_at is None:
        following = start_contract(state, state.next_contract, at, catalog)
        return Outcome(following.state, effects + following.effects)
    ended = end_paid_life(state, catalog, at, "canceled" if state.cancel_at else "contract_ended")
    return Outcome(ended.state, effects + ended.effects)


SEAT_REQUEST_NOT_FOUND = "seat_request_not_found"


def _under_contract(state: BillingState, action: str) -> Contract:
    require_status(state, PAID_STATUSES, action)
    if state.contract is None:
        raise DomainError(
            NOT_ALLOWED_IN_STATUS,
            f"{action}: additional seats are bought under a sales contract",
            {"status": state.status},
        )
    return state.contract


def request_seats(state: BillingState, cmd: RequestSeats, at: datetime, catalog: Catalog) -> Outcome:
    """Record a request for more seats for sales; nothing is charged until it is approved."""
    _under_contract(state, "request seats")
    request = SeatRequest(
        id=cmd.request_id, quantity=cmd.quantity, requested_at=at, requested_by=cmd.actor, note=cmd.reason
    )
    state = evolve(state, seat_requests=(*state.seat_requests, request))
    effects: list[Effect] = [event("seats_requested", at, request=request.id, quantity=cmd.quantity)]
    return Outcome(state, effects, f"{cmd.quantity} more seats requested: sales will confirm")


def approve_seats(state: BillingState, cmd: ApproveSeats, at: datetime, catalog: Catalog) -> Outcome:
    """Approve a pending request: its seats are charged at the contract's unit price."""
    contract = _under_contract(state, "approve seats")
    found = [r for r in state.seat_requests if r.id == cmd.request and r.status == "pending"]
    if not found:
        raise DomainError(
            SEAT_REQUEST_NOT_FOUND, f"no pending seat request {cmd.request!r}", {"request": cmd.request}
        )
    request = found[0]
    approved = evolve(request, status="approved", approved_at=at, approved_by=cmd.actor)
    requests = tuple(approved if r.id == request.id else r for r in state.seat_requests)
    state = evolve(state, seat_requests=requests)
    effects: list[Effect] = [event("seats_approved", at, request=request.id, quantity=request.quantity)]
    term = Period(start=at, end=contract.ends_at)
    description = f"{request.quantity} additional contract seats"
    # The request names the line: two approvals are two lines, never one merged count.
    item = LineItem(kind="contract_seats", code=request.id)
    charges = [line("seat", item, description, request.quantity, contract.seat_unit_price, term)]
    posted = charge_in_advance(state, catalog, at, term, [c for c in charges if c.amount])
    return Outcome(posted.state, effects + posted.effects, f"{request.quantity} seats approved")

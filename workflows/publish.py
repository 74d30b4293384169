"""What support staff see in the Temporal UI: search attributes and a summary line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from billing.state import BillingState, seat_counts, seats_held
from contracts.search_attributes import CANCEL_AT, CATALOG, PAID_SEATS, PERIOD_END, PLAN, STATUS

Published = tuple[str, str, str, int, datetime | None, datetime | None]


def _values(state: BillingState) -> Published:
    return (
        state.status,
        state.plan or "none",
        state.catalog_name,
        len(seats_held(state)),
        state.period_end,
        state.cancel_at,
    )


def details(state: BillingState) -> str:
    """The current-details Markdown shown in the UI."""
    seats = ", ".join(f"{n} {t} ({c})" for (t, c), n in seat_counts(seats_held(state)).items()) or "none"
    lines = [
        f"**{state.workspace_id}** — {state.status}, plan {state.plan or 'none'} ({state.catalog_name})",
        f"- paid seats: {seats}",
    ]
    if state.period_start and state.period_end:
        lines.append(f"- period: {state.period_start.date()} → {state.period_end.date()}")
    if state.trial and state.status == "trialing":
        lines.append(
            f"- trial ends {state.trial.ends_at.date()} (plan: {state.trial.selected_plan or 'none'})"
        )
    if state.pending_change:
        change = state.pending_change
        lines.append(
            f"- pending {change.kind} → {change.to_plan or change.to_seat_type} "
            f"on {change.effective_at.date()}"
        )
    if state.cancel_at:
        lines.append(f"- cancels at {state.cancel_at.date()}")
    if state.credit_balance:
        lines.append(f"- credit balance {state.credit_balance}")
    return "\n".join(lines)


def publish(state: BillingState, last: Published | None) -> Published:
    """Upsert search attributes (only when they changed) and set the current details."""
    values = _values(state)
    workflow.set_current_details(details(state))
    if values == last:
        return values
    status, plan, catalog, seats, period_end, cancel_at = values
    updates: list[SearchAttributeUpdate[Any]] = [
        STATUS.value_set(status),
        PLAN.value_set(plan),
        CATALOG.value_set(catalog),
        PAID_SEATS.value_set(seats),
        PERIOD_END.value_set(period_end) if period_end else PERIOD_END.value_unset(),
        CANCEL_AT.value_set(cancel_at) if cancel_at else CANCEL_AT.value_unset(),
    ]
    workflow.upsert_search_attributes(updates)
    return values

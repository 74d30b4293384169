"""What support staff see in the Temporal UI: search attributes and a summary line."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

from billing.state import BillingState, seats_held
from contracts.search_attributes import CANCEL_AT, CATALOG, PAID_SEATS, PERIOD_END, PLAN, STATUS
from workflows.details import current_details

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
    """The current-details Markdown shown in the UI (`workflows.details`)."""
    return current_details(state)


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

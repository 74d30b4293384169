"""Exact usage totals for the periods a decision is about to close (credits catalog)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from billing.catalog import Catalog
from billing.commands import Command
from billing.deadlines import usage_due
from billing.periods import Period
from billing.records import UsageWindow, UsageWindowTotals
from billing.state import BillingState
from billing.usage import UsageTotals
from workflows.effects import DB_RETRY, DB_TIMEOUT


async def usage_totals(
    state: BillingState, now: datetime, catalog: Catalog, command: Command | None = None
) -> dict[Period, UsageTotals]:
    """Read the totals of every window `advance` (then ``command``) needs at ``now`` (none: no I/O).

    Period-end invoicing reads exact totals from the usage table, never the daily roll-up.
    """
    windows = usage_due(state, now, catalog, command)
    if not windows:
        return {}
    found: list[UsageWindowTotals] = await workflow.execute_activity(
        "usage_totals",
        [UsageWindow(workspace_id=state.workspace_id, start=w.start, end=w.end) for w in windows],
        result_type=list[UsageWindowTotals],
        start_to_close_timeout=DB_TIMEOUT,
        retry_policy=DB_RETRY,
    )
    return {
        Period(start=t.start, end=t.end): UsageTotals(
            credits=t.credits, serverless_minutes=t.serverless_minutes
        )
        for t in found
    }

"""Exact usage totals for the periods a decision is about to close (credits catalog)."""

from __future__ import annotations

from datetime import datetime

from billing.catalog import Catalog
from billing.commands import Command
from billing.deadlines import usage_due
from billing.periods import Period
from billing.state import BillingState
from billing.usage import UsageTotals
from contracts import activities as refs
from contracts.usage import UsageWindow
from workflows.calls import run


async def usage_totals(
    state: BillingState, now: datetime, catalog: Catalog, command: Command | None = None
) -> dict[Period, UsageTotals]:
    """Read the totals of every window `advance` (then ``command``) needs at ``now`` (none: no I/O).

    Period-end invoicing reads exact totals from the usage table, never the daily roll-up.
    """
    windows = usage_due(state, now, catalog, command)
    if not windows:
        return {}
    found = await run(
        refs.USAGE_TOTALS,
        [UsageWindow(workspace_id=state.workspace_id, start=w.start, end=w.end) for w in windows],
    )
    return {
        Period(start=t.start, end=t.end): UsageTotals(
            credits=t.credits, serverless_minutes=t.serverless_minutes
        )
        for t in found
    }

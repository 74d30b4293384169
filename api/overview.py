"""`GET /v1/workspaces/{id}/overview`: the billing page in one answer (SPEC §5).

What the subscription knows comes from its workflow (`billing_overview` query); what only
the database knows (invoices with their Stripe documents, card, tax ids) is added here, and
usage as of the last daily roll-up (`api.usage_overview`, over the workflow's period).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.auth import authenticated
from api.billing import Workspace, WorkspaceContext, get_billing_details, list_invoices
from api.billing_models import BillingDetailsOut, InvoiceOut
from api.usage_overview import UsageOut, usage_section
from billing.allowance import UsageCards, usage_cards
from billing.overview import Overview
from billing.retention import free_limit_warnings
from db import workspace_repo
from workflows.messages import workflow_id
from workflows.subscription import SubscriptionWorkflow

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["billing"], dependencies=[Depends(authenticated)]
)
RECENT_INVOICES = 12


class OverviewOut(BaseModel):
    """The subscription's view, the recent invoices with their documents, billing details, and
    usage as of the last daily roll-up."""

    subscription: Overview
    usage: UsageOut
    usage_cards: UsageCards | None = None
    invoices: list[InvoiceOut]
    billing: BillingDetailsOut
    warnings: list[str]


@router.get("/overview", summary="The billing overview (subscription, usage, invoices, billing details)")
async def overview(
    ws: Workspace,
    usage_days: Annotated[bool, Query(description="Also list the usage of each day.")] = False,
) -> OverviewOut:
    return await overview_of(ws, usage_days)


async def _subscription(ws: WorkspaceContext) -> Overview:
    client = await ws.state.temporal()
    handle = client.get_workflow_handle(workflow_id(ws.workspace_id))
    try:
        return await handle.query(SubscriptionWorkflow.billing_overview)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"workspace {ws.workspace_id!r} has no subscription") from None
        raise HTTPException(503, f"the subscription cannot be read now: {error.message}") from None


async def _data_limit_warnings(ws: WorkspaceContext, subscription: Overview) -> list[str]:
    """The free-plan limits on the product's data (connectors, spaces) a free workspace exceeds;
    the subscription's own overview already names the members limit."""
    if subscription.status != "free":
        return []
    async with ws.sessions() as session:
        connectors, spaces = await workspace_repo.data_counts(session, ws.workspace_id)
    return free_limit_warnings(ws.state.catalog.free_limits(), connectors=connectors, spaces=spaces)


async def overview_of(ws: WorkspaceContext, usage_days: bool = False) -> OverviewOut:
    """The whole billing page of ``ws`` (the endpoint's answer; also `tenure show`'s)."""
    # The workflow query and the database reads that do not depend on it run together.
    subscription, billing, invoices = await asyncio.gather(
        _subscription(ws), get_billing_details(ws), list_invoices(ws)
    )
    invoices = invoices[:RECENT_INVOICES]
    allowance = subscription.allowance
    # Usage is counted over the allowance's window (a contract's dates, else the period).
    start, end = (
        (allowance.window_start, allowance.window_end)
        if allowance
        else (subscription.period_start, subscription.period_end)
    )
    usage = await usage_section(ws.sessions, ws.workspace_id, start, end, datetime.now(UTC), usage_days)
    cards = (
        usage_cards(allowance, usage.credits, usage.serverless_minutes, usage.as_of) if allowance else None
    )
    projected = [c.warning for c in (cards.credits, cards.serverless_minutes) if c.warning] if cards else []
    limits = await _data_limit_warnings(ws, subscription)
    return OverviewOut(
        subscription=subscription,
        usage=usage,
        usage_cards=cards,
        invoices=invoices,
        billing=billing,
        warnings=[*subscription.warnings, *limits, *billing.warnings, *projected],
    )

"""`GET /v1/workspaces/{id}/overview`: the billing page in one answer (SPEC §5).

What the subscription knows comes from its workflow (`billing_overview` query); what only
the database knows (invoices with their Stripe documents, card, tax ids) is added here, and
usage as of the last daily roll-up (`api.usage_overview`, over the workflow's period).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.auth import authenticated
from api.billing import Workspace, get_billing_details, list_invoices
from api.billing_models import BillingDetailsOut, InvoiceOut
from api.usage_overview import UsageOut, usage_section
from billing.overview import Overview
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
    invoices: list[InvoiceOut]
    billing: BillingDetailsOut
    warnings: list[str]


@router.get("/overview", summary="The billing overview (subscription, invoices, billing details)")
async def overview(
    ws: Workspace,
    usage_days: Annotated[bool, Query(description="Also list the usage of each day.")] = False,
) -> OverviewOut:
    client = await ws.state.temporal()
    handle = client.get_workflow_handle(workflow_id(ws.workspace_id))
    try:
        subscription = await handle.query(SubscriptionWorkflow.billing_overview)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, f"workspace {ws.workspace_id!r} has no subscription") from None
        raise HTTPException(503, f"the subscription cannot be read now: {error.message}") from None
    billing = await get_billing_details(ws)
    invoices = (await list_invoices(ws))[:RECENT_INVOICES]
    usage = await usage_section(
        ws.sessions,
        ws.workspace_id,
        subscription.period_start,
        subscription.period_end,
        datetime.now(UTC),
        usage_days,
    )
    return OverviewOut(
        subscription=subscription,
        usage=usage,
        invoices=invoices,
        billing=billing,
        warnings=[*subscription.warnings, *billing.warnings],
    )

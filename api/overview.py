"""`GET /v1/workspaces/{id}/overview`: the billing page in one answer (SPEC §5).

What the subscription knows comes from its workflow (`billing_overview` query); what only
the database knows (invoices with their Stripe documents, card, tax ids) is added here.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from temporalio.service import RPCError, RPCStatusCode

from api.auth import authenticated
from api.billing import Workspace, get_billing_details, list_invoices
from api.billing_models import BillingDetailsOut, InvoiceOut
from billing.overview import Overview
from workflows.messages import workflow_id
from workflows.subscription import SubscriptionWorkflow

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["billing"], dependencies=[Depends(authenticated)]
)
RECENT_INVOICES = 12


class OverviewOut(BaseModel):
    """The subscription's view, the recent invoices with their documents, billing details."""

    subscription: Overview
    invoices: list[InvoiceOut]
    billing: BillingDetailsOut
    warnings: list[str]


@router.get("/overview", summary="The billing overview (subscription, invoices, billing details)")
async def overview(ws: Workspace) -> OverviewOut:
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
    return OverviewOut(
        subscription=subscription,
        invoices=invoices,
        billing=billing,
        warnings=[*subscription.warnings, *billing.warnings],
    )

"""`GET /v1/workspaces/{id}/overview`: the billing page in one answer (SPEC §5); assembled by
`services.overview`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import authenticated
from api.deps import ServicesDep
from services.overview import OverviewOut

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["billing"], dependencies=[Depends(authenticated)]
)


@router.get("/overview", summary="The billing overview (subscription, usage, invoices, billing details)")
async def overview(
    workspace_id: str,
    services: ServicesDep,
    usage_days: Annotated[bool, Query(description="Also list the usage of each day.")] = False,
) -> OverviewOut:
    return await services.overview.overview(workspace_id, usage_days)

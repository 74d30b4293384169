"""`GET /v1/workspaces/{id}/entitlements` and `POST …/entitlements/check` (issue 15).

Served from the PostgreSQL projection (`services.entitlements`), never by a Temporal
query, so the product can ask before every action: "may this workspace use SSO / add a
fourth connector?". Any token may read, as for the other workspace reads.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError

from api.auth import authenticated
from api.deps import ServicesDep
from contracts.entitlements import CheckResult, EntitlementCheck, Entitlements

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["entitlements"], dependencies=[Depends(authenticated)]
)


@router.get("/entitlements", summary="Plan, status, features, limits and credits, from the projection")
async def entitlements(workspace_id: str, services: ServicesDep) -> Entitlements:
    return await services.entitlements.entitlements(workspace_id)


@router.post("/entitlements/check", summary="May the workspace use a feature or add N more of a limit?")
async def check(workspace_id: str, body: EntitlementCheck, services: ServicesDep) -> CheckResult:
    if body.feature is not None and body.feature not in services.entitlements.features:
        # A 422 naming the field, as the body's own validation answers.
        known = ", ".join(sorted(services.entitlements.features)) or "none"
        reason = f"unknown feature {body.feature!r} (this catalog knows: {known})"
        raise RequestValidationError([{"loc": ("body", "feature"), "msg": reason, "type": "value_error"}])
    return await services.entitlements.check(workspace_id, body)

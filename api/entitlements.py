"""`GET /v1/workspaces/{id}/entitlements` and `POST …/entitlements/check` (issue 15).

Served from the PostgreSQL projection (`services.entitlements`), never by a Temporal
query, so the product can ask before every action: "may this workspace use SSO / add a
fourth connector?". Any active token may read, as for the other workspace reads.

The check is the hot path: its token is verified in the check's own statement (one round
trip instead of two, `db.entitlement_checks`), its dependencies are coroutines (a plain
function runs on a worker thread) and its answer is written as JSON once. A malformed
``Authorization`` header is refused before the body is read, as `api.auth` does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError

from api.auth import authenticated
from api.deps import ServicesDep
from contracts.entitlements import CheckResult, EntitlementCheck, Entitlements
from db.tokens import hash_token
from observability import metrics
from services import Services

router = APIRouter(prefix="/v1/workspaces/{workspace_id}", tags=["entitlements"])

_BEARER = "send Authorization: Bearer <token> (`tenure tokens create` makes one)"


async def bearer_hash(authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> str:
    """The stored form of the presented bearer token (checked with the entitlements row)."""
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, _BEARER)
    return hash_token(secret.strip())


@router.get(
    "/entitlements",
    summary="Plan, status, features, limits and credits, from the projection",
    dependencies=[Depends(authenticated)],
)
async def entitlements(workspace_id: str, services: ServicesDep) -> Entitlements:
    return await services.entitlements.entitlements(workspace_id)


@router.post(
    "/entitlements/check",
    summary="May the workspace use a feature or add N more of a limit?",
    response_model=CheckResult,
)
async def check(
    workspace_id: str,
    body: EntitlementCheck,
    request: Request,
    token_hash: Annotated[str, Depends(bearer_hash)],
) -> Response:
    # Not `ServicesDep`: a plain `def` dependency is run on a worker thread, a hop per check.
    services: Services = request.app.state.services
    if body.feature is not None and body.feature not in services.entitlements.features:
        # A 422 naming the field, as the body's own validation answers.
        known = ", ".join(sorted(services.entitlements.features)) or "none"
        reason = f"unknown feature {body.feature!r} (this catalog knows: {known})"
        raise RequestValidationError([{"loc": ("body", "feature"), "msg": reason, "type": "value_error"}])
    result = await services.entitlements.check(workspace_id, body, token_hash)
    metrics.ENTITLEMENT_CHECKS.labels("allowed" if result is not None and result.allowed else "denied").inc()
    if result is None:
        raise HTTPException(401, "unknown or revoked token")
    return Response(result.model_dump_json(), media_type="application/json")

"""Usage ingestion (SPEC §4): batches of up to 10,000 events, credits priced at ingestion.

``POST /v1/workspaces/{workspace_id}/usage`` takes one workspace's events; ``POST /v1/usage``
takes events of many workspaces, each naming its ``workspace_id``. Both are idempotent by
event id: an id already stored for its workspace (or repeated inside the batch) is counted
as a duplicate and changes nothing. A malformed batch (422, the offending event's index in
``details``) or one naming an unknown workspace (404) stores nothing. Any service token may
send usage; no acting user is needed.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.auth import authenticated
from api.deps import ServicesDep
from api.headers import IdempotencyKey
from services.usage import Counts
from services.usage_batch import MAX_EVENTS, openapi_body

router = APIRouter(tags=["usage"], dependencies=[Depends(authenticated)])


class UsageCounts(BaseModel):
    """What a batch held: ``received`` = ``new`` + ``duplicates``."""

    received: int
    new: int
    duplicates: int


class BulkUsageOut(UsageCounts):
    """The batch's counts, and the same counts per workspace."""

    workspaces: dict[str, UsageCounts]


def _counts(counts: Counts) -> UsageCounts:
    return UsageCounts(received=counts.received, new=counts.new, duplicates=counts.duplicates)


_RESPONSES: dict[int | str, dict[str, object]] = {
    404: {"description": "An unknown workspace (`workspace_not_found`); nothing stored"},
    409: {"description": "A deleted workspace (`workspace_deleted`); nothing stored"},
    422: {"description": "A malformed event (`invalid_argument`, `unknown_event_kind`); `details.index`"},
}


@router.post(
    "/v1/workspaces/{workspace_id}/usage",
    summary=f"Ingest up to {MAX_EVENTS:,} usage events of one workspace (idempotent by event id)",
    openapi_extra=openapi_body(bulk=False),
    responses=_RESPONSES,
)
async def ingest_usage(
    request: Request, workspace_id: str, services: ServicesDep, key: IdempotencyKey = None
) -> UsageCounts:
    """Idempotency-Key is accepted but not needed: event ids already make a retry harmless."""
    stored = await services.usage.ingest(await request.body(), workspace_id)
    return _counts(stored.workspaces[workspace_id])


@router.post(
    "/v1/usage",
    summary=f"Ingest up to {MAX_EVENTS:,} usage events of many workspaces (each names its workspace_id)",
    openapi_extra=openapi_body(bulk=True),
    responses=_RESPONSES,
)
async def ingest_bulk_usage(
    request: Request, services: ServicesDep, key: IdempotencyKey = None
) -> BulkUsageOut:
    """Idempotency-Key is accepted but not needed: event ids already make a retry harmless."""
    stored = await services.usage.ingest(await request.body(), None)
    per = {w: _counts(c) for w, c in stored.workspaces.items()}
    return BulkUsageOut(**_counts(stored.total).model_dump(), workspaces=per)

"""Usage ingestion (SPEC §4): batches of up to 10,000 events, credits priced at ingestion.

``POST /v1/workspaces/{workspace_id}/usage`` takes one workspace's events; ``POST /v1/usage``
takes events of many workspaces, each naming its ``workspace_id``. Both are idempotent by
event id: an id already stored for its workspace (or repeated inside the batch) is counted
as a duplicate and changes nothing. A malformed batch (422, the offending event's index in
``details``) or one naming an unknown workspace (404) stores nothing. Any service token may
send usage; no acting user is needed.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from api.auth import authenticated
from api.errors import error_body
from api.headers import IdempotencyKey
from api.state import AppState
from api.usage_in import (
    MAX_EVENTS,
    BatchRefused,
    ParsedBatch,
    openapi_body,
    parse_batch,
    valid_workspace_id,
)
from billing.errors import DomainError
from contracts.errors import WORKSPACE_DELETED, WORKSPACE_NOT_FOUND
from db import usage_ingest
from db.engine import session_factory
from db.workspace_models import WorkspaceRow

router = APIRouter(tags=["usage"], dependencies=[Depends(authenticated)])


class UsageCounts(BaseModel):
    """What a batch held: ``received`` = ``new`` + ``duplicates``."""

    received: int
    new: int
    duplicates: int


class BulkUsageOut(UsageCounts):
    """The batch's counts, and the same counts per workspace."""

    workspaces: dict[str, UsageCounts]


async def _store(request: Request, workspace_id: str | None) -> ParsedBatch | JSONResponse:
    state: AppState = request.app.state.tenure
    if workspace_id is not None and not valid_workspace_id(workspace_id):
        raise DomainError(
            WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}", {"workspace_ids": [workspace_id]}
        )
    try:
        batch = parse_batch(await request.body(), state.catalog.credit_rules, workspace_id)
    except BatchRefused as refused:
        return JSONResponse(error_body(refused.code, refused.message, refused.details), status_code=422)
    if workspace_id is not None:
        batch.received.setdefault(workspace_id, 0)
        batch.indexes.setdefault(workspace_id, [])
    async with session_factory(state.engine)() as session, session.begin():
        query = select(WorkspaceRow.id, WorkspaceRow.deleted_at).where(
            WorkspaceRow.id.in_(list(batch.received))
        )
        known = {ws: deleted_at for ws, deleted_at in (await session.execute(query)).tuples().all()}
        _check_workspaces(batch, known)
        batch.new = await usage_ingest.ingest(session, batch.rows, batch.escape)
    return batch


def _check_workspaces(batch: ParsedBatch, known: Mapping[str, object]) -> None:
    for code, missing in (
        (WORKSPACE_NOT_FOUND, sorted(w for w in batch.received if w not in known)),
        (WORKSPACE_DELETED, sorted(w for w in batch.received if known.get(w) is not None)),
    ):
        if missing:
            indexes = sorted(i for w in missing for i in batch.indexes[w])
            what = "no workspace" if code == WORKSPACE_NOT_FOUND else "deleted workspace"
            raise DomainError(
                code,
                f"{what} {', '.join(map(repr, missing[:5]))}: nothing of the batch was stored",
                {"workspace_ids": missing, "indexes": indexes},
            )


def _counts(received: int, new: int) -> UsageCounts:
    return UsageCounts(received=received, new=new, duplicates=received - new)


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
    response_model=UsageCounts,
)
async def ingest_usage(
    request: Request, workspace_id: str, key: IdempotencyKey = None
) -> UsageCounts | JSONResponse:
    """Idempotency-Key is accepted but not needed: event ids already make a retry harmless."""
    stored = await _store(request, workspace_id)
    if isinstance(stored, JSONResponse):
        return stored
    return _counts(stored.received[workspace_id], stored.new.get(workspace_id, 0))


@router.post(
    "/v1/usage",
    summary=f"Ingest up to {MAX_EVENTS:,} usage events of many workspaces (each names its workspace_id)",
    openapi_extra=openapi_body(bulk=True),
    responses=_RESPONSES,
    response_model=BulkUsageOut,
)
async def ingest_bulk_usage(request: Request, key: IdempotencyKey = None) -> BulkUsageOut | JSONResponse:
    """Idempotency-Key is accepted but not needed: event ids already make a retry harmless."""
    stored = await _store(request, None)
    if isinstance(stored, JSONResponse):
        return stored
    per = {w: _counts(n, stored.new.get(w, 0)) for w, n in sorted(stored.received.items())}
    total = sum(stored.received.values())
    return BulkUsageOut(
        received=total,
        new=sum(stored.new.values()),
        duplicates=total - sum(stored.new.values()),
        workspaces=per,
    )

"""The pull API of the outbound event log: `GET /v1/events` (a page after a stored cursor) and
`GET /v1/events/{id}`. Any active token (service or staff) reads every workspace's events:
tokens belong to the host product's backends, which already read any workspace's overview.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from api.auth import authenticated
from api.deps import ServicesDep
from api.errors import error_body
from billing.errors import DomainError
from contracts.errors import INVALID_ARGUMENT
from contracts.events import EventOut
from services.events import MAX_LIMIT, EventPage, EventQueryRefused

router = APIRouter(prefix="/v1/events", tags=["events"], dependencies=[Depends(authenticated)])


def _refused(error: EventQueryRefused) -> JSONResponse:
    # The shape of a request validation error: the field at fault, named as FastAPI names it.
    problem = {"field": f"query.{error.field}", "reason": error.message}
    return JSONResponse(error_body(INVALID_ARGUMENT, error.message, {"errors": [problem]}), status_code=422)


@router.get("", summary="Events oldest first, after a cursor", response_model=EventPage)
async def list_events(
    services: ServicesDep,
    after: Annotated[
        str | None, Query(max_length=64, description="The last event id read (`next_cursor`).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    workspace_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    type: Annotated[
        list[str] | None, Query(max_length=2000, description="Event types; repeated or comma-separated.")
    ] = None,
) -> EventPage | JSONResponse:
    try:
        return await services.events.page(after, limit, workspace_id, type or [])
    except EventQueryRefused as error:
        return _refused(error)


@router.get("/{event_id}", summary="One event", response_model=EventOut)
async def get_event(event_id: str, services: ServicesDep) -> EventOut | JSONResponse:
    try:
        return await services.events.get(event_id)
    except DomainError as error:
        return JSONResponse(error_body(error.code, error.message, error.details), status_code=404)

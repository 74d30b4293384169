"""Webhook endpoints: where Tenure pushes its events (Standard Webhooks), their delivery log,
and replays. See docs/webhooks.md.

Service tokens only: an endpoint is the host product's integration, configured by its
backend; a staff token (people helping one customer) gets 403. Bad input is a 422 naming the
field, and creates nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import service_only
from api.deps import ServicesDep
from contracts.webhooks import (
    ENDPOINT_ID_PATTERN,
    EVENT_ID_PATTERN,
    MAX_URL_LENGTH,
    EndpointStatus,
    check_event_types,
    check_url,
)
from services.webhooks import CreatedEndpoint, Delivery, Endpoint, WebhookInputError

service_token = service_only("webhook endpoints are configured")


router = APIRouter(prefix="/v1/webhook-endpoints", tags=["webhooks"], dependencies=[Depends(service_token)])

EndpointId = Annotated[str, Path(pattern=ENDPOINT_ID_PATTERN, description="`we_` and 24 hex digits.")]
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN, description="An event id (`evt_...`).")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointIn(_Body):
    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH), AfterValidator(check_url)]
    event_types: Annotated[
        list[Annotated[str, Field(max_length=60)]],
        Field(max_length=100, description="Types to receive; empty or omitted: every type."),
        AfterValidator(check_event_types),
    ] = []


class ReplayIn(_Body):
    after: EventId | None = Field(
        default=None, description="Send the events after this one (omitted: from the start)."
    )
    until: EventId | None = Field(
        default=None, description="Up to this one, included (omitted: the newest now)."
    )
    workspace_id: str | None = Field(default=None, min_length=1, max_length=64)


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: EndpointStatus
    created_at: datetime
    failing_since: datetime | None


class CreatedOut(EndpointOut):
    secret: str = Field(description="The `whsec_` signing secret: shown in this answer only.")


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    workspace_id: str
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    next_retry_at: datetime | None


class DeliveriesOut(BaseModel):
    data: list[DeliveryOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null: no more.")


class ReplayOut(BaseModel):
    endpoint_id: str
    after: str | None
    until: str | None
    workspace_id: str | None


def _out(endpoint: Endpoint) -> EndpointOut:
    return EndpointOut(**endpoint.__dict__)


def _delivery(d: Delivery) -> DeliveryOut:
    return DeliveryOut(**d.__dict__)


@router.post("", status_code=201, summary="Create an endpoint (its signing secret is shown once)")
async def create_endpoint(body: EndpointIn, services: ServicesDep) -> CreatedOut:
    created: CreatedEndpoint = await services.webhooks.create(body.url, body.event_types)
    return CreatedOut(**created.endpoint.__dict__, secret=created.secret)


@router.get("", summary="Every webhook endpoint (never the secrets)")
async def list_endpoints(services: ServicesDep) -> list[EndpointOut]:
    return [_out(e) for e in await services.webhooks.endpoints()]


@router.get("/{endpoint_id}", summary="One webhook endpoint")
async def get_endpoint(endpoint_id: EndpointId, services: ServicesDep) -> EndpointOut:
    return _out(await services.webhooks.get(endpoint_id))


@router.delete("/{endpoint_id}", status_code=204, summary="Delete an endpoint: deliveries to it stop")
async def delete_endpoint(endpoint_id: EndpointId, services: ServicesDep) -> Response:
    await services.webhooks.delete(endpoint_id)
    return Response(status_code=204)


@router.get("/{endpoint_id}/deliveries", summary="Delivery attempts, newest first")
async def list_deliveries(
    endpoint_id: EndpointId,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="A delivery id: older ones only.")
    ] = None,
) -> DeliveriesOut:
    found = await services.webhooks.deliveries(endpoint_id, limit + 1, before)
    page = found[:limit]
    more = len(found) > limit
    return DeliveriesOut(data=[_delivery(d) for d in page], next_before=page[-1].id if more else None)


@router.post(
    "/{endpoint_id}/replay",
    status_code=202,
    summary="Send a range of events again; resumes a failing endpoint",
)
async def replay(endpoint_id: EndpointId, services: ServicesDep, body: ReplayIn | None = None) -> ReplayOut:
    wanted = body or ReplayIn()
    try:
        done = await services.webhooks.replay(endpoint_id, wanted.after, wanted.until, wanted.workspace_id)
    except WebhookInputError as refused:
        # The same 422 as a malformed field: the id is well formed but names no event.
        error = {"loc": ("body", refused.field), "msg": refused.reason, "type": "value_error"}
        raise RequestValidationError([error]) from None
    return ReplayOut(**done.__dict__)

"""Support endpoints: what staff do for a customer, over HTTP (the `tenure` CLI's HTTP twin).

They need a staff token (`tenure tokens create NAME --staff`; a service token gets 403) and
``X-Acting-User`` naming the staff member, recorded as ``staff:<login>``: the workflow lets
staff past the billing-admin check and records them in the audit log with the reason.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from api.auth import authenticated
from api.commands import command_route
from api.deps import ServicesDep
from api.headers import IdempotencyKey, request_id
from api.state import AppState
from billing import ApproveSeats, Cancel, ExtendTrial, Reactivate, SetContract
from billing.commands import STAFF_PREFIX
from billing.errors import FORBIDDEN, DomainError
from billing.state import ContractTerms
from client import TenureClient
from db.models import ApiToken


async def staff_token(token: Annotated[ApiToken, Depends(authenticated)]) -> ApiToken:
    """The presented token, if it is a staff token."""
    if token.scope != "staff":
        raise DomainError(
            FORBIDDEN, "support endpoints need a staff token (`tenure tokens create NAME --staff`)"
        )
    return token


def _staff_login(login: Annotated[str, Header(alias="X-Acting-User", min_length=1, max_length=100)]) -> str:
    return login if login.startswith(STAFF_PREFIX) else f"{STAFF_PREFIX}{login}"


Staff = Annotated[str, Depends(_staff_login)]

router = APIRouter(prefix="/v1/support", tags=["support"], dependencies=[Depends(staff_token)])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Reason(_Body):
    reason: str = Field(min_length=1, max_length=500, description="Why: recorded in the audit log.")


class ExtendTrialIn(Reason):
    days: PositiveInt = Field(le=365)


class ContractIn(ContractTerms):
    """A sales contract (SPEC §1.3); amounts in minor units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str | None = Field(default=None, max_length=500, description="Recorded in the audit log.")


class VoidOut(BaseModel):
    invoice: str
    status: str


async def _client(request: Request) -> TenureClient:
    state: AppState = request.app.state.tenure
    return await state.tenure()


@command_route(
    router,
    "POST",
    "/workspaces/{workspace_id}/extend-trial",
    ExtendTrial,
    summary="Extend a trial by some days",
)
def extend_trial(body: ExtendTrialIn, staff: Staff, key: IdempotencyKey = None) -> ExtendTrial:
    return ExtendTrial(request_id=request_id(key), actor=staff, days=body.days, reason=body.reason)


@command_route(
    router,
    "PUT",
    "/workspaces/{workspace_id}/contract",
    SetContract,
    summary="Set a sales contract (starts at its start date)",
)
def set_contract(body: ContractIn, staff: Staff, key: IdempotencyKey = None) -> SetContract:
    return SetContract(request_id=request_id(key), actor=staff, **body.model_dump())


@command_route(
    router,
    "POST",
    "/workspaces/{workspace_id}/cancel",
    Cancel,
    summary="Cancel at period end on the customer's behalf",
)
def cancel(body: Reason, staff: Staff, key: IdempotencyKey = None) -> Cancel:
    return Cancel(request_id=request_id(key), actor=staff, reason=body.reason)


@command_route(
    router,
    "POST",
    "/workspaces/{workspace_id}/reactivate",
    Reactivate,
    summary="Withdraw a cancellation or restore a revert",
)
def reactivate(staff: Staff, key: IdempotencyKey = None) -> Reactivate:
    return Reactivate(request_id=request_id(key), actor=staff)


@command_route(
    router,
    "POST",
    "/workspaces/{workspace_id}/seat-requests/{seat_request}/approve",
    ApproveSeats,
    summary="Approve a request for more contract seats: they are charged at the contract's unit price",
)
def approve_seats(seat_request: str, staff: Staff, key: IdempotencyKey = None) -> ApproveSeats:
    return ApproveSeats(request_id=request_id(key), actor=staff, request=seat_request)


@router.post("/invoices/{number}/void", summary="Void an invoice still being collected")
async def void_invoice(number: str, body: Reason, staff: Staff, services: ServicesDep) -> VoidOut:
    voided = await services.invoices.void(number, staff, body.reason)
    return VoidOut(invoice=voided.invoice, status=voided.status)

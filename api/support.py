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
from api.deps import ServicesDep
from api.headers import IdempotencyKey, request_id
from api.state import AppState
from billing import ApproveSeats, Cancel, CommandResult, ExtendTrial, Reactivate, SetContract
from billing.commands import STAFF_PREFIX
from billing.errors import FORBIDDEN, DomainError
from billing.usage import UtcDatetime
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


class ContractIn(_Body):
    """A sales contract (SPEC §1.3); amounts in minor units."""

    plan: str = Field(min_length=1, max_length=64)
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    price: int = Field(ge=0, le=10**12)
    credits: int = Field(default=0, ge=0, le=10**12)
    rollover_credits: int = Field(default=0, ge=0, le=10**12)
    serverless_minutes: int = Field(default=0, ge=0, le=10**12)
    credit_overage_rate: int = Field(default=0, ge=0, le=10**9)
    minute_overage_rate: int = Field(default=0, ge=0, le=10**9)
    seat_unit_price: int = Field(default=0, ge=0, le=10**9)
    reason: str | None = Field(default=None, max_length=500, description="Recorded in the audit log.")


class VoidOut(BaseModel):
    invoice: str
    status: str


async def _client(request: Request) -> TenureClient:
    state: AppState = request.app.state.tenure
    return await state.tenure()


@router.post("/workspaces/{workspace_id}/extend-trial", summary="Extend a trial by some days")
async def extend_trial(
    request: Request, workspace_id: str, body: ExtendTrialIn, staff: Staff, key: IdempotencyKey = None
) -> CommandResult:
    command = ExtendTrial(request_id=request_id(key), actor=staff, days=body.days, reason=body.reason)
    return await (await _client(request)).execute(workspace_id, "extend_trial", command)


@router.put("/workspaces/{workspace_id}/contract", summary="Set a sales contract (starts at its start date)")
async def set_contract(
    request: Request, workspace_id: str, body: ContractIn, staff: Staff, key: IdempotencyKey = None
) -> CommandResult:
    command = SetContract(request_id=request_id(key), actor=staff, **body.model_dump())
    return await (await _client(request)).set_contract(workspace_id, command)


@router.post("/workspaces/{workspace_id}/cancel", summary="Cancel at period end on the customer's behalf")
async def cancel(
    request: Request, workspace_id: str, body: Reason, staff: Staff, key: IdempotencyKey = None
) -> CommandResult:
    command = Cancel(request_id=request_id(key), actor=staff, reason=body.reason)
    return await (await _client(request)).execute(workspace_id, "cancel", command)


@router.post("/workspaces/{workspace_id}/reactivate", summary="Withdraw a cancellation or restore a revert")
async def reactivate(
    request: Request, workspace_id: str, staff: Staff, key: IdempotencyKey = None
) -> CommandResult:
    command = Reactivate(request_id=request_id(key), actor=staff)
    return await (await _client(request)).execute(workspace_id, "reactivate", command)


@router.post(
    "/workspaces/{workspace_id}/seat-requests/{seat_request}/approve",
    summary="Approve a request for more contract seats: they are charged at the contract's unit price",
)
async def approve_seats(
    request: Request, workspace_id: str, seat_request: str, staff: Staff, key: IdempotencyKey = None
) -> CommandResult:
    command = ApproveSeats(request_id=request_id(key), actor=staff, request=seat_request)
    return await (await _client(request)).execute(workspace_id, "approve_seats", command)


@router.post("/invoices/{number}/void", summary="Void an invoice still being collected")
async def void_invoice(number: str, body: Reason, staff: Staff, services: ServicesDep) -> VoidOut:
    voided = await services.invoices.void(number, staff, body.reason)
    return VoidOut(invoice=voided.invoice, status=voided.status)

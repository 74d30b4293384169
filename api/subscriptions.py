"""Subscription endpoints: create a workspace's subscription, send it commands, preview them.

Each command route builds the command type it names (`api.commands.command_route`), sent as
the workflow's Update of its kind: the workflow validates it (a refusal leaves no trace)
and applies it whole or not at all. ``X-Acting-User`` names
the member acting; the domain checks that they hold the billing admin role (403
``forbidden`` otherwise). ``Idempotency-Key`` becomes the command's request id, which the
workflow remembers: a retried request returns the first result and changes nothing.
"""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import authenticated
from api.commands import command_route
from api.deps import ServicesDep
from api.errors import domain_status, error_body
from api.headers import ActingUser, IdempotencyKey, request_id
from api.state import AppState
from api.workspace_in import WorkspaceIn
from billing import (
    AssignSeat,
    Cancel,
    ChangePlan,
    ChangeSeat,
    Command,
    DeleteWorkspaceCommand,
    Preview,
    Reactivate,
    RequestSeats,
    SelectPlan,
    UnassignSeat,
)
from client import TenureError
from services.ids import UserId

router = APIRouter(prefix="/v1/workspaces", tags=["subscriptions"], dependencies=[Depends(authenticated)])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanIn(_Body):
    plan: str = Field(min_length=1, max_length=64)


class SeatIn(_Body):
    user: UserId
    type: str = Field(min_length=1, max_length=60)
    cycle: Literal["monthly", "annual"] = "monthly"


class SeatTypeIn(_Body):
    type: str = Field(min_length=1, max_length=60)


class CancelIn(_Body):
    reason: str | None = Field(default=None, max_length=500)


class DeleteIn(_Body):
    confirm: str = Field(description="Type the workspace id to confirm: deletion is irreversible.")


class SeatRequestIn(_Body):
    quantity: int = Field(ge=1, le=10_000, description="Seats to add under the contract.")
    note: str | None = Field(default=None, max_length=500, description="For sales.")


class CreatedOut(BaseModel):
    workspace_id: str
    created: bool


def tenure_error_response(error: TenureError) -> JSONResponse:
    """The one error shape, with the domain code's status."""
    body = error_body(error.code, error.message, error.details)
    return JSONResponse(body, status_code=domain_status(error.code))


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.tenure
    return state


@router.post("", summary="Register a workspace and start its subscription (twice is harmless)")
async def create(body: WorkspaceIn, services: ServicesDep) -> CreatedOut:
    registered = await services.workspaces.register(body.setup())
    return CreatedOut(workspace_id=registered.workspace_id, created=registered.created)


@command_route(
    router,
    "PUT",
    "/{workspace_id}/plan",
    SelectPlan,
    summary="Choose a plan: during a trial the plan billing starts with; "
    "an upgrade applies now (prorated), a downgrade at period end, the current plan cancels a pending one",
)
def set_plan(body: PlanIn, actor: ActingUser, key: IdempotencyKey = None) -> SelectPlan:
    return SelectPlan(request_id=request_id(key), actor=actor, plan=body.plan)


@command_route(router, "POST", "/{workspace_id}/seats", AssignSeat, summary="Give a member a paid seat")
def assign_seat(body: SeatIn, actor: ActingUser, key: IdempotencyKey = None) -> AssignSeat:
    return AssignSeat(
        request_id=request_id(key), actor=actor, user=body.user, seat_type=body.type, cycle=body.cycle
    )


@command_route(
    router, "PUT", "/{workspace_id}/seats/{user}", ChangeSeat, summary="Change a member's seat type"
)
def change_seat(user: str, body: SeatTypeIn, actor: ActingUser, key: IdempotencyKey = None) -> ChangeSeat:
    return ChangeSeat(request_id=request_id(key), actor=actor, user=user, seat_type=body.type)


@command_route(
    router, "DELETE", "/{workspace_id}/seats/{user}", UnassignSeat, summary="Take a member's paid seat away"
)
def unassign_seat(user: str, actor: ActingUser, key: IdempotencyKey = None) -> UnassignSeat:
    return UnassignSeat(request_id=request_id(key), actor=actor, user=user)


@command_route(
    router, "POST", "/{workspace_id}/cancel", Cancel, summary="Cancel at the end of the current period"
)
def cancel(body: CancelIn, actor: ActingUser, key: IdempotencyKey = None) -> Cancel:
    return Cancel(request_id=request_id(key), actor=actor, reason=body.reason)


@command_route(
    router,
    "POST",
    "/{workspace_id}/reactivate",
    Reactivate,
    summary="Withdraw a cancellation, or restore a reverted workspace",
)
def reactivate(actor: ActingUser, key: IdempotencyKey = None) -> Reactivate:
    return Reactivate(request_id=request_id(key), actor=actor)


@command_route(
    router,
    "POST",
    "/{workspace_id}/delete",
    DeleteWorkspaceCommand,
    summary="Delete everything (irreversible; confirm with the workspace id)",
)
def delete_workspace(body: DeleteIn, actor: ActingUser, key: IdempotencyKey = None) -> DeleteWorkspaceCommand:
    return DeleteWorkspaceCommand(request_id=request_id(key), actor=actor, confirm=body.confirm)


@command_route(
    router,
    "POST",
    "/{workspace_id}/seat-requests",
    RequestSeats,
    summary="Ask to buy more seats under the sales contract (charged once sales approve)",
)
def request_seats(body: SeatRequestIn, actor: ActingUser, key: IdempotencyKey = None) -> RequestSeats:
    return RequestSeats(request_id=request_id(key), actor=actor, quantity=body.quantity, reason=body.note)


@router.post(
    "/{workspace_id}/seats/preview", summary="The exact invoice lines assigning a seat would charge now"
)
async def preview_seat(request: Request, workspace_id: str, body: SeatIn, actor: ActingUser) -> Preview:
    command = AssignSeat(
        request_id=uuid.uuid4().hex, actor=actor, user=body.user, seat_type=body.type, cycle=body.cycle
    )
    return await _quote(request, workspace_id, command)


@router.post("/{workspace_id}/plan/preview", summary="The exact invoice lines changing plan would charge now")
async def preview_plan(request: Request, workspace_id: str, body: PlanIn, actor: ActingUser) -> Preview:
    return await _quote(
        request, workspace_id, ChangePlan(request_id=uuid.uuid4().hex, actor=actor, plan=body.plan)
    )


async def _quote(request: Request, workspace_id: str, command: Command) -> Preview:
    client = await _state(request).tenure()
    return await client.preview(workspace_id, command)

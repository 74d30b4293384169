"""The workspace roster the lifecycle acts on: members join, change role, leave.

The product tells Tenure about its members as they change, so that a revert keeps the
right admin (the earliest admin grant) and seats follow people. Each change is the
subscription workflow's Update of the same name; ``X-Acting-User`` is recorded as the actor.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import authenticated
from api.headers import ActingUser, IdempotencyKey, request_id
from api.state import AppState
from billing import AddMember, CommandResult, RemoveMember, SetRole
from services.ids import Role, UserId

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}/members", tags=["members"], dependencies=[Depends(authenticated)]
)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: UserId
    role: Role | None = Field(default=None, description="Default: the catalog's.")


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


async def _execute(
    request: Request, workspace_id: str, update: str, command: AddMember | SetRole | RemoveMember
) -> CommandResult:
    state: AppState = request.app.state.tenure
    return await (await state.tenure()).execute(workspace_id, update, command)


@router.post("", summary="A member joined the workspace")
async def add_member(
    request: Request, workspace_id: str, body: MemberIn, actor: ActingUser, key: IdempotencyKey = None
) -> CommandResult:
    command = AddMember(request_id=request_id(key), actor=actor, user=body.user, role=body.role)
    return await _execute(request, workspace_id, "add_member", command)


@router.put("/{user}/role", summary="A member's role changed (a new admin grant restarts its grant time)")
async def set_role(
    request: Request,
    workspace_id: str,
    user: str,
    body: RoleIn,
    actor: ActingUser,
    key: IdempotencyKey = None,
) -> CommandResult:
    command = SetRole(request_id=request_id(key), actor=actor, user=user, role=body.role)
    return await _execute(request, workspace_id, "set_role", command)


@router.delete("/{user}", summary="A member left the workspace (their paid seat is released)")
async def remove_member(
    request: Request, workspace_id: str, user: str, actor: ActingUser, key: IdempotencyKey = None
) -> CommandResult:
    command = RemoveMember(request_id=request_id(key), actor=actor, user=user)
    return await _execute(request, workspace_id, "remove_member", command)

"""The workspace roster the lifecycle acts on: members join, change role, leave.

The product tells Tenure about its members as they change, so that a revert keeps the
right admin (the earliest admin grant) and seats follow people. Each change is the
command its route names, sent as the Update of its kind; ``X-Acting-User`` is recorded as the actor.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.auth import authenticated
from api.commands import command_route
from api.headers import ActingUser, IdempotencyKey, request_id
from billing import AddMember, RemoveMember, SetRole
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


@command_route(router, "POST", "", AddMember, summary="A member joined the workspace")
def add_member(body: MemberIn, actor: ActingUser, key: IdempotencyKey = None) -> AddMember:
    return AddMember(request_id=request_id(key), actor=actor, user=body.user, role=body.role)


@command_route(
    router,
    "PUT",
    "/{user}/role",
    SetRole,
    summary="A member's role changed (a new admin grant restarts its grant time)",
)
def set_role(user: str, body: RoleIn, actor: ActingUser, key: IdempotencyKey = None) -> SetRole:
    return SetRole(request_id=request_id(key), actor=actor, user=user, role=body.role)


@command_route(
    router,
    "DELETE",
    "/{user}",
    RemoveMember,
    summary="A member left the workspace (their paid seat is released)",
)
def remove_member(user: str, actor: ActingUser, key: IdempotencyKey = None) -> RemoveMember:
    return RemoveMember(request_id=request_id(key), actor=actor, user=user)

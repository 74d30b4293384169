"""The workspace entities the lifecycle acts on: connections, data sources (with sizes),
agents and the Slack bot. The product reports them as they change; a revert to free deletes
connections, deactivates agents, removes the bot and schedules big data sources for deletion.

Any member may change them (``X-Acting-User`` is optional: a sync job acts as its service
token); every change is audited with the entity before and after, in the same transaction.
PUT describes the whole entity, so repeating it is harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from activities.records import snapshot_of
from api.auth import authenticated
from api.headers import IdempotencyKey
from api.ids import EntityId
from api.state import AppState
from api.workspace_in import MAX_ITEMS, DocumentIn
from billing.errors import FORBIDDEN, INVALID_ARGUMENT, DomainError
from billing.retention import refuse_beyond_free_limit
from billing.usage import UtcDatetime
from billing.workspace import WorkspaceSnapshot
from contracts.errors import WORKSPACE_DELETED, WORKSPACE_NOT_FOUND
from contracts.workspace import DocumentSetup
from db import entity_repo
from db import workspace_repo as repo
from db.audit import JsonObject, actor_of, write_audit
from db.engine import session_factory
from db.models import ApiToken
from db.subscription_models import SubscriptionRow
from db.workspace_models import AgentRow, ConnectionRow, DataSourceRow, DocumentRow, MemberRow, SlackBotRow

router = APIRouter(prefix="/v1/workspaces/{workspace_id}", tags=["entities"])

# Optional here: a service syncing sizes acts as itself; a member acting must be active.
OptionalActor = Annotated[str | None, Header(alias="X-Acting-User", min_length=1, max_length=200)]
Token = Annotated[ApiToken, Depends(authenticated)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConnectionIn(_Body):
    kind: str = Field(default="generic", min_length=1, max_length=40)
    documents: list[DocumentIn] | None = Field(
        default=None, max_length=MAX_ITEMS, description="The documents synced from it; omitted: unchanged."
    )


class DataSourceIn(_Body):
    bytes: int = Field(
        ge=0, le=10**15, description="Combined size of its documents (the revert's 50 MB test)."
    )
    documents: list[DocumentIn] | None = Field(default=None, max_length=MAX_ITEMS)


class ConnectionOut(BaseModel):
    id: str
    kind: str
    status: str
    documents: int
    document_bytes: int


class DataSourceOut(BaseModel):
    id: str
    bytes: int
    status: str
    deletion_scheduled_at: UtcDatetime | None
    documents: int


class AgentOut(BaseModel):
    id: str
    status: str


class SlackBotOut(BaseModel):
    installed: bool


class _Change:
    """One audited change: the locked workspace, who acts, and the request id."""

    def __init__(self, session: AsyncSession, workspace_id: str, actor: str, request_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id
        self.actor = actor
        self.request_id = request_id

    async def audit(self, action: str, before: BaseModel | None, after: BaseModel | None) -> None:
        await write_audit(
            self.session,
            workspace_id=self.workspace_id,
            request_id=self.request_id,
            actor=self.actor,
            action=action,
            before=_json(before),
            after=_json(after),
        )


def _json(model: BaseModel | None) -> JsonObject | None:
    return None if model is None else model.model_dump(mode="json")


def _sessions(request: Request) -> Any:
    state: AppState = request.app.state.tenure
    return session_factory(state.engine)


@asynccontextmanager
async def _change(
    request: Request, workspace_id: str, token: ApiToken, acting_user: str | None, key: str | None
) -> AsyncIterator[_Change]:
    """A transaction holding the workspace lock, after the workspace and actor checks."""
    async with _sessions(request).begin() as session:
        row = await repo.lock_workspace(session, workspace_id)
        if row is None:
            raise DomainError(WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}")
        if row.deleted_at is not None:
            raise DomainError(WORKSPACE_DELETED, f"workspace {workspace_id!r} was deleted")
        if acting_user is not None:
            member = await session.get(MemberRow, (workspace_id, acting_user))
            if member is None or member.status != "active":
                raise DomainError(FORBIDDEN, f"{acting_user!r} is not an active member of {workspace_id!r}")
        yield _Change(session, workspace_id, actor_of(token, acting_user), key or uuid.uuid4().hex)


def _documents(documents: list[DocumentIn]) -> list[DocumentSetup]:
    ids = [d.id for d in documents]
    if len(set(ids)) != len(ids):
        raise DomainError(INVALID_ARGUMENT, "document ids must be unique", {"documents": len(ids)})
    return [DocumentSetup(id=d.id, bytes=d.bytes) for d in documents]


def _missing(what: str, entity_id: str) -> DomainError:
    return DomainError("not_found", f"no {what} {entity_id!r}", {"id": entity_id})


async def _connection(session: AsyncSession, ws: str, connection_id: str) -> ConnectionOut | None:
    row = await entity_repo.get(session, ConnectionRow, ws, connection_id)
    if row is None:
        return None
    count, total = await entity_repo.document_stats(session, ws, DocumentRow.connection_id, connection_id)
    return ConnectionOut(id=row.id, kind=row.kind, status=row.status, documents=count, document_bytes=total)


async def _data_source(session: AsyncSession, ws: str, source_id: str) -> DataSourceOut | None:
    row = await entity_repo.get(session, DataSourceRow, ws, source_id)
    if row is None:
        return None
    count, _ = await entity_repo.document_stats(session, ws, DocumentRow.data_source_id, source_id)
    return DataSourceOut(
        id=row.id,
        bytes=row.bytes,
        status=row.status,
        deletion_scheduled_at=row.deletion_scheduled_at,
        documents=count,
    )


async def _agent(session: AsyncSession, ws: str, agent_id: str) -> AgentOut | None:
    row = await entity_repo.get(session, AgentRow, ws, agent_id)
    return None if row is None else AgentOut(id=row.id, status=row.status)


@router.get("/entities", summary="Members, connections, data sources, agents and Slack bot as stored")
async def list_entities(request: Request, workspace_id: str, _: Token) -> WorkspaceSnapshot:
    async with _sessions(request)() as session:
        row = await repo.lock_workspace(session, workspace_id)
        if row is None:
            raise DomainError(WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}")
        return snapshot_of(await repo.load(session, row))


async def _refuse_beyond_free_connectors(request: Request, session: AsyncSession, ws: str) -> None:
    """A free workspace adds no connector beyond the free plan's limit (SPEC §2)."""
    subscription = await session.get(SubscriptionRow, ws)
    if subscription is None:
        return  # not started yet: no status to hold it to
    connectors, _spaces = await repo.data_counts(session, ws)
    limits = request.app.state.tenure.catalog.free_limits()
    refuse_beyond_free_limit(subscription.status, limits, "connectors", connectors)


@router.put("/connections/{connection_id}", summary="A connection was created or changed")
async def put_connection(
    request: Request,
    workspace_id: str,
    connection_id: EntityId,
    body: ConnectionIn,
    token: Token,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> ConnectionOut:
    documents = None if body.documents is None else _documents(body.documents)
    async with _change(request, workspace_id, token, actor, key) as change:
        before = await _connection(change.session, workspace_id, connection_id)
        if before is None or before.status != "active":
            await _refuse_beyond_free_connectors(request, change.session, workspace_id)
        await entity_repo.put_connection(change.session, workspace_id, connection_id, body.kind)
        if documents is not None:
            await entity_repo.replace_documents(
                change.session, workspace_id, DocumentRow.connection_id, connection_id, documents
            )
        after = await _connection(change.session, workspace_id, connection_id)
        await change.audit("put_connection", before, after)
    assert after is not None
    return after


@router.delete("/connections/{connection_id}", summary="A connection was removed", status_code=204)
async def delete_connection(
    request: Request, workspace_id: str, connection_id: str, token: Token, actor: OptionalActor = None
) -> Response:
    async with _change(request, workspace_id, token, actor, None) as change:
        before = await _connection(change.session, workspace_id, connection_id)
        if before is None:
            raise _missing("connection", connection_id)
        await entity_repo.remove(change.session, ConnectionRow, workspace_id, connection_id)
        await change.audit("delete_connection", before, None)
    return Response(status_code=204)


@router.put("/data-sources/{source_id}", summary="A data source was created or its size changed")
async def put_data_source(
    request: Request,
    workspace_id: str,
    source_id: EntityId,
    body: DataSourceIn,
    token: Token,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> DataSourceOut:
    documents = None if body.documents is None else _documents(body.documents)
    async with _change(request, workspace_id, token, actor, key) as change:
        before = await _data_source(change.session, workspace_id, source_id)
        await entity_repo.put_data_source(change.session, workspace_id, source_id, body.bytes)
        if documents is not None:
            await entity_repo.replace_documents(
                change.session, workspace_id, DocumentRow.data_source_id, source_id, documents
            )
        after = await _data_source(change.session, workspace_id, source_id)
        await change.audit("put_data_source", before, after)
    assert after is not None
    return after


@router.delete("/data-sources/{source_id}", summary="A data source was removed", status_code=204)
async def delete_data_source(
    request: Request, workspace_id: str, source_id: str, token: Token, actor: OptionalActor = None
) -> Response:
    async with _change(request, workspace_id, token, actor, None) as change:
        before = await _data_source(change.session, workspace_id, source_id)
        if before is None:
            raise _missing("data source", source_id)
        await entity_repo.remove(change.session, DataSourceRow, workspace_id, source_id)
        await change.audit("delete_data_source", before, None)
    return Response(status_code=204)


@router.put("/agents/{agent_id}", summary="An agent was created (a deactivated one stays deactivated)")
async def put_agent(
    request: Request,
    workspace_id: str,
    agent_id: EntityId,
    token: Token,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> AgentOut:
    async with _change(request, workspace_id, token, actor, key) as change:
        before = await _agent(change.session, workspace_id, agent_id)
        await entity_repo.put_agent(change.session, workspace_id, agent_id)
        after = await _agent(change.session, workspace_id, agent_id)
        await change.audit("put_agent", before, after)
    assert after is not None
    return after


@router.delete("/agents/{agent_id}", summary="An agent was removed", status_code=204)
async def delete_agent(
    request: Request, workspace_id: str, agent_id: str, token: Token, actor: OptionalActor = None
) -> Response:
    async with _change(request, workspace_id, token, actor, None) as change:
        before = await _agent(change.session, workspace_id, agent_id)
        if before is None:
            raise _missing("agent", agent_id)
        await entity_repo.remove(change.session, AgentRow, workspace_id, agent_id)
        await change.audit("delete_agent", before, None)
    return Response(status_code=204)


async def _bot(session: AsyncSession, ws: str) -> SlackBotOut:
    return SlackBotOut(installed=await session.get(SlackBotRow, ws) is not None)


@router.put("/slack-bot", summary="The Slack bot was installed")
async def install_slack_bot(
    request: Request, workspace_id: str, token: Token, actor: OptionalActor = None
) -> SlackBotOut:
    async with _change(request, workspace_id, token, actor, None) as change:
        before = await _bot(change.session, workspace_id)
        await repo.set_slack_bot(change.session, workspace_id, True)
        await change.audit("install_slack_bot", before, SlackBotOut(installed=True))
    return SlackBotOut(installed=True)


@router.delete("/slack-bot", summary="The Slack bot was removed")
async def remove_slack_bot(
    request: Request, workspace_id: str, token: Token, actor: OptionalActor = None
) -> SlackBotOut:
    async with _change(request, workspace_id, token, actor, None) as change:
        before = await _bot(change.session, workspace_id)
        await repo.set_slack_bot(change.session, workspace_id, False)
        await change.audit("remove_slack_bot", before, SlackBotOut(installed=False))
    return SlackBotOut(installed=False)

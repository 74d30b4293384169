"""The workspace entities the lifecycle acts on: connections, data sources (with sizes),
agents and the Slack bot. The product reports them as they change; a revert to free deletes
connections, deactivates agents, removes the bot and schedules big data sources for deletion.

Any member may change them (``X-Acting-User`` is optional: a sync job acts as its service
token); every change is audited with the entity before and after, in the same transaction.
PUT describes the whole entity, so repeating it is harmless.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import actor_of, authenticated
from api.deps import ServicesDep
from api.headers import IdempotencyKey
from api.workspace_in import MAX_ITEMS, DocumentIn
from billing.workspace import WorkspaceSnapshot
from contracts.workspace import DocumentSetup
from db.models import ApiToken
from services.entities import Acting, unique_documents
from services.entity_models import AgentOut, ConnectionOut, DataSourceOut, SlackBotOut
from services.ids import EntityId

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


def _acting(token: ApiToken, member: str | None, key: str | None = None) -> Acting:
    return Acting(actor=actor_of(token, member), member=member, request_id=key)


def _documents(documents: list[DocumentIn] | None) -> list[DocumentSetup] | None:
    if documents is None:
        return None
    return unique_documents([DocumentSetup(id=d.id, bytes=d.bytes) for d in documents])


@router.get("/entities", summary="Members, connections, data sources, agents and Slack bot as stored")
async def list_entities(workspace_id: str, _: Token, services: ServicesDep) -> WorkspaceSnapshot:
    return await services.entities.snapshot(workspace_id)


@router.put("/connections/{connection_id}", summary="A connection was created or changed")
async def put_connection(
    workspace_id: str,
    connection_id: EntityId,
    body: ConnectionIn,
    token: Token,
    services: ServicesDep,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> ConnectionOut:
    documents = _documents(body.documents)
    acting = _acting(token, actor, key)
    return await services.entities.put_connection(workspace_id, acting, connection_id, body.kind, documents)


@router.delete("/connections/{connection_id}", summary="A connection was removed", status_code=204)
async def delete_connection(
    workspace_id: str, connection_id: str, token: Token, services: ServicesDep, actor: OptionalActor = None
) -> Response:
    await services.entities.delete_connection(workspace_id, _acting(token, actor), connection_id)
    return Response(status_code=204)


@router.put("/data-sources/{source_id}", summary="A data source was created or its size changed")
async def put_data_source(
    workspace_id: str,
    source_id: EntityId,
    body: DataSourceIn,
    token: Token,
    services: ServicesDep,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> DataSourceOut:
    documents = _documents(body.documents)
    acting = _acting(token, actor, key)
    return await services.entities.put_data_source(workspace_id, acting, source_id, body.bytes, documents)


@router.delete("/data-sources/{source_id}", summary="A data source was removed", status_code=204)
async def delete_data_source(
    workspace_id: str, source_id: str, token: Token, services: ServicesDep, actor: OptionalActor = None
) -> Response:
    await services.entities.delete_data_source(workspace_id, _acting(token, actor), source_id)
    return Response(status_code=204)


@router.put("/agents/{agent_id}", summary="An agent was created (a deactivated one stays deactivated)")
async def put_agent(
    workspace_id: str,
    agent_id: EntityId,
    token: Token,
    services: ServicesDep,
    actor: OptionalActor = None,
    key: IdempotencyKey = None,
) -> AgentOut:
    return await services.entities.put_agent(workspace_id, _acting(token, actor, key), agent_id)


@router.delete("/agents/{agent_id}", summary="An agent was removed", status_code=204)
async def delete_agent(
    workspace_id: str, agent_id: str, token: Token, services: ServicesDep, actor: OptionalActor = None
) -> Response:
    await services.entities.delete_agent(workspace_id, _acting(token, actor), agent_id)
    return Response(status_code=204)


@router.put("/slack-bot", summary="The Slack bot was installed")
async def install_slack_bot(
    workspace_id: str, token: Token, services: ServicesDep, actor: OptionalActor = None
) -> SlackBotOut:
    return await services.entities.set_slack_bot(workspace_id, _acting(token, actor), installed=True)


@router.delete("/slack-bot", summary="The Slack bot was removed")
async def remove_slack_bot(
    workspace_id: str, token: Token, services: ServicesDep, actor: OptionalActor = None
) -> SlackBotOut:
    return await services.entities.set_slack_bot(workspace_id, _acting(token, actor), installed=False)

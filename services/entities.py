"""The workspace entities the lifecycle acts on: connections, data sources (with sizes), agents
and the Slack bot, as the product reports them.

Every change is one transaction holding the workspace lock: the workspace and actor checks,
the entity before, the write, the entity after and the audit row, so the audit never
disagrees with what was stored. Any active member may change them; a service acts as itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from activities.records import snapshot_of
from billing.catalog import Catalog
from billing.errors import FORBIDDEN, INVALID_ARGUMENT, DomainError
from billing.retention import refuse_beyond_free_limit
from billing.workspace import WorkspaceSnapshot
from contracts.errors import WORKSPACE_DELETED, WORKSPACE_NOT_FOUND
from contracts.workspace import DocumentSetup
from db import entity_repo
from db import workspace_repo as repo
from db.audit import JsonObject, write_audit
from db.subscription_models import SubscriptionRow
from db.workspace_models import AgentRow, ConnectionRow, DataSourceRow, DocumentRow, MemberRow, SlackBotRow
from services.base import NOT_FOUND, UnitOfWork
from services.entity_models import AgentOut, ConnectionOut, DataSourceOut, SlackBotOut

Out = TypeVar("Out", bound=BaseModel)
Write = Callable[[AsyncSession], Awaitable[object]]


@dataclass(frozen=True)
class Acting:
    """Who changes an entity: ``actor`` is audited; ``member``, when a person is named, must be
    an active member. ``request_id`` (an idempotency key) makes a retry audit once."""

    actor: str
    member: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class _Kind(Generic[Out]):
    name: str  # in audit actions and errors: put_<name>, delete_<name>, "no <name> ..."
    row: entity_repo.Kind
    read: Callable[[AsyncSession, str, str], Awaitable[Out | None]]


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


CONNECTION = _Kind("connection", ConnectionRow, _connection)
DATA_SOURCE = _Kind("data_source", DataSourceRow, _data_source)
AGENT = _Kind("agent", AgentRow, _agent)


def _json(model: BaseModel | None) -> JsonObject | None:
    return None if model is None else model.model_dump(mode="json")


def unique_documents(documents: list[DocumentSetup]) -> list[DocumentSetup]:
    """``documents`` unless an id repeats (one upsert cannot touch a row twice).

    Raises:
        DomainError: ``invalid_argument``.
    """
    ids = [d.id for d in documents]
    if len(set(ids)) != len(ids):
        raise DomainError(INVALID_ARGUMENT, "document ids must be unique", {"documents": len(ids)})
    return documents


class EntityService:
    def __init__(self, uow: UnitOfWork, catalog: Catalog) -> None:
        self._uow = uow
        self._catalog = catalog

    async def snapshot(self, workspace_id: str) -> WorkspaceSnapshot:
        """Members, connections, data sources, agents and Slack bot as stored."""
        async with self._uow.read() as session:
            row = await repo.lock_workspace(session, workspace_id)
            if row is None:
                raise DomainError(WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}")
            return snapshot_of(await repo.load(session, row))

    @asynccontextmanager
    async def _change(self, workspace_id: str, acting: Acting) -> AsyncIterator[AsyncSession]:
        async with self._uow.write() as session:
            row = await repo.lock_workspace(session, workspace_id)
            if row is None:
                raise DomainError(WORKSPACE_NOT_FOUND, f"no workspace {workspace_id!r}")
            if row.deleted_at is not None:
                raise DomainError(WORKSPACE_DELETED, f"workspace {workspace_id!r} was deleted")
            if acting.member is not None:
                member = await session.get(MemberRow, (workspace_id, acting.member))
                if member is None or member.status != "active":
                    raise DomainError(
                        FORBIDDEN, f"{acting.member!r} is not an active member of {workspace_id!r}"
                    )
            yield session

    async def _audit(
        self,
        session: AsyncSession,
        ws: str,
        acting: Acting,
        action: str,
        before: BaseModel | None,
        after: BaseModel | None,
    ) -> None:
        await write_audit(
            session,
            workspace_id=ws,
            request_id=acting.request_id or uuid.uuid4().hex,
            actor=acting.actor,
            action=action,
            before=_json(before),
            after=_json(after),
        )

    async def _put(self, ws: str, acting: Acting, kind: _Kind[Out], entity_id: str, write: Write) -> Out:
        async with self._change(ws, acting) as session:
            before = await kind.read(session, ws, entity_id)
            await write(session)
            after = await kind.read(session, ws, entity_id)
            await self._audit(session, ws, acting, f"put_{kind.name}", before, after)
        assert after is not None
        return after

    async def _delete(self, ws: str, acting: Acting, kind: _Kind[Out], entity_id: str) -> None:
        async with self._change(ws, acting) as session:
            before = await kind.read(session, ws, entity_id)
            if before is None:
                what = kind.name.replace("_", " ")
                raise DomainError(NOT_FOUND, f"no {what} {entity_id!r}", {"id": entity_id})
            await entity_repo.remove(session, kind.row, ws, entity_id)
            await self._audit(session, ws, acting, f"delete_{kind.name}", before, None)

    async def put_connection(
        self, ws: str, acting: Acting, connection_id: str, kind: str, documents: list[DocumentSetup] | None
    ) -> ConnectionOut:
        """Create or change a connection; a free workspace adds none beyond its limit (SPEC §2)."""

        async def write(session: AsyncSession) -> None:
            before = await _connection(session, ws, connection_id)
            if before is None or before.status != "active":
                await self._refuse_beyond_free_connectors(session, ws)
            await entity_repo.put_connection(session, ws, connection_id, kind)
            if documents is not None:
                await entity_repo.replace_documents(
                    session, ws, DocumentRow.connection_id, connection_id, documents
                )

        return await self._put(ws, acting, CONNECTION, connection_id, write)

    async def put_data_source(
        self, ws: str, acting: Acting, source_id: str, size: int, documents: list[DocumentSetup] | None
    ) -> DataSourceOut:
        """Create a data source or change its size (the revert's 50 MB test reads it)."""

        async def write(session: AsyncSession) -> None:
            await entity_repo.put_data_source(session, ws, source_id, size)
            if documents is not None:
                await entity_repo.replace_documents(
                    session, ws, DocumentRow.data_source_id, source_id, documents
                )

        return await self._put(ws, acting, DATA_SOURCE, source_id, write)

    async def put_agent(self, ws: str, acting: Acting, agent_id: str) -> AgentOut:
        """Create an agent (a deactivated one stays deactivated)."""
        return await self._put(ws, acting, AGENT, agent_id, lambda s: entity_repo.put_agent(s, ws, agent_id))

    async def delete_connection(self, ws: str, acting: Acting, connection_id: str) -> None:
        await self._delete(ws, acting, CONNECTION, connection_id)

    async def delete_data_source(self, ws: str, acting: Acting, source_id: str) -> None:
        await self._delete(ws, acting, DATA_SOURCE, source_id)

    async def delete_agent(self, ws: str, acting: Acting, agent_id: str) -> None:
        await self._delete(ws, acting, AGENT, agent_id)

    async def set_slack_bot(self, ws: str, acting: Acting, installed: bool) -> SlackBotOut:
        """Install or remove the Slack bot (the revert to free removes it)."""
        async with self._change(ws, acting) as session:
            before = SlackBotOut(installed=await session.get(SlackBotRow, ws) is not None)
            await repo.set_slack_bot(session, ws, installed)
            after = SlackBotOut(installed=installed)
            action = "install_slack_bot" if installed else "remove_slack_bot"
            await self._audit(session, ws, acting, action, before, after)
        return after

    async def _refuse_beyond_free_connectors(self, session: AsyncSession, ws: str) -> None:
        subscription = await session.get(SubscriptionRow, ws)
        if subscription is None:
            return  # not started yet: no status to hold it to
        connectors, _spaces = await repo.data_counts(session, ws)
        refuse_beyond_free_limit(subscription.status, self._catalog.free_limits(), "connectors", connectors)

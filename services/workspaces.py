"""Registering a workspace: its people and data stored, then its subscription started.

Registering twice is harmless (the rows converge on the setup, the subscription already
runs); a workspace whose data was deleted ("delete everything") cannot come back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from activities.records import register
from billing.catalog import Catalog
from billing.errors import INVALID_ARGUMENT, DomainError
from billing.state import Member
from contracts.errors import WORKSPACE_DELETED
from contracts.workspace import WorkspaceSetup
from db import workspace_repo
from services.base import ClientSource, Clock, UnitOfWork


@dataclass(frozen=True)
class Registered:
    workspace_id: str
    created: bool


async def store_workspace(sessions: async_sessionmaker[AsyncSession], setup: WorkspaceSetup) -> None:
    """Create or update the workspace and its entities to match ``setup`` (converges).

    Raises:
        DomainError: ``workspace_deleted``, or ``invalid_argument`` (an id used twice).
    """
    async with sessions.begin() as session:
        row = await workspace_repo.lock_workspace(session, setup.workspace_id)
        if row is not None and row.deleted_at is not None:  # "delete everything" is irreversible
            raise DomainError(WORKSPACE_DELETED, f"workspace {setup.workspace_id!r} was deleted")
        try:
            await register(session, setup)
        except ApplicationError as refused:  # the shared mapping refuses in the activities' terms
            raise DomainError(refused.type or INVALID_ARGUMENT, refused.message) from None


class WorkspaceService:
    def __init__(self, uow: UnitOfWork, clients: ClientSource, catalog: Catalog, clock: Clock) -> None:
        self._uow = uow
        self._clients = clients
        self._catalog = catalog
        self._clock = clock

    async def store(self, setup: WorkspaceSetup) -> None:
        """Store ``setup`` without starting anything (`store_workspace`)."""
        await store_workspace(self._uow.sessions, setup)

    async def register(self, setup: WorkspaceSetup) -> Registered:
        """Store ``setup`` unless the workspace exists, then start its subscription."""
        async with self._uow.read() as session:
            exists = await workspace_repo.workspace_exists(session, setup.workspace_id)
        if not exists:
            await self.store(setup)
        now = self._clock()
        members = {
            m.user_id: Member(role=m.role, role_granted_at=m.role_granted_at or now) for m in setup.members
        }
        await (await self._clients()).start_subscription(setup.workspace_id, self._catalog, members)
        return Registered(workspace_id=setup.workspace_id, created=not exists)

"""What every service receives: its unit of work, the engine's client, a clock.

A service never opens an engine, reads settings or asks the time itself: the composition
root (`services.compose`) hands these in, so the API, the CLI and `tenure simulate` run the
same code against their own resources (and `simulate` against its simulated clock).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from billing.errors import DomainError
from client import TenureClient
from db import workspace_repo

Clock = Callable[[], datetime]
# The API connects to Temporal on first use (it starts before Temporal does): a source, not a client.
ClientSource = Callable[[], Awaitable[TenureClient]]

NOT_FOUND = "not_found"


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


class UnitOfWork:
    """Sessions of the application database; the service owns each transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions

    def read(self) -> AsyncSession:
        """A session for reads (no transaction is committed)."""
        return self.sessions()

    def write(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A session in a transaction, committed when the block ends without an error."""
        return self.sessions.begin()

    async def require_workspace(self, workspace_id: str) -> None:
        """Refuse an unknown workspace (deleted ones exist: their billing records stay).

        Raises:
            DomainError: ``not_found``.
        """
        async with self.read() as session:
            if not await workspace_repo.workspace_exists(session, workspace_id):
                raise DomainError(NOT_FOUND, f"no workspace {workspace_id!r}")

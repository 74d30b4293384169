"""Activities that prove the worker can reach its dependencies."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from contracts import activities as refs


class HealthActivities:
    """Built in the worker's composition root with the database engine it checks."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @activity.defn(name=refs.DATABASE_PING.name)
    async def database_ping(self) -> str:
        """Run ``SELECT version()`` and return the server's version string."""
        async with self._engine.connect() as conn:
            version = (await conn.execute(text("SHOW server_version"))).scalar_one()
        return str(version)

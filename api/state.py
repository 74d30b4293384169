"""Per-application resources, created in the app factory's lifespan (never at import)."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from config.settings import Settings
from config.temporal import connect


class AppState:
    """The database engine and a lazily connected Temporal client."""

    def __init__(self, settings: Settings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.engine = engine
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def temporal(self) -> Client:
        """The Temporal client, connected on first use so the API starts before Temporal."""
        async with self._lock:
            if self._client is None:
                self._client = await connect(self.settings)
            return self._client

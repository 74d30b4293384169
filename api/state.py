"""Per-application resources, created in the app factory's lifespan (never at import)."""

from __future__ import annotations

import asyncio
import functools

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from billing.catalog import Catalog, load_catalog
from client import TenureClient
from config.settings import Settings
from config.temporal import connect


class AppState:
    """The database engine and a lazily connected Temporal client (the services hold the rest)."""

    def __init__(self, settings: Settings, engine: AsyncEngine, temporal: Client | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self._client: Client | None = temporal  # given: already connected (the CLI's)
        self._lock = asyncio.Lock()

    @functools.cached_property
    def catalog(self) -> Catalog:
        """The deployment's catalog, loaded and validated once (parsing it costs ~4 ms)."""
        return load_catalog(self.settings.catalog)

    async def temporal(self) -> Client:
        """The Temporal client, connected on first use so the API starts before Temporal."""
        async with self._lock:
            if self._client is None:
                self._client = await connect(self.settings)
            return self._client

    async def tenure(self) -> TenureClient:
        """The Python client on this deployment's task queues."""
        s = self.settings
        return TenureClient(
            await self.temporal(),
            s.task_queue,
            s.stripe_task_queue,
            retry_deadline_s=s.command_retry_deadline_s,
            in_flight=s.command_in_flight_per_workspace,
        )

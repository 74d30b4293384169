"""Webhook endpoints: create (the secret shown once), list, read, delete, read the delivery
log, replay a range. Starting, stopping and telling the endpoint's dispatcher go through the
client (`client.webhooks`); the deliveries themselves are the dispatcher's (workflows/).
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.service import RPCError

from billing.errors import INVALID_ARGUMENT, DomainError
from client.webhooks import WebhookDispatchers
from contracts.webhooks import (
    ENDPOINT_PREFIX,
    SECRET_PREFIX,
    DeliveryPolicy,
    EndpointStatus,
    ReplayRange,
    check_event_types,
    check_url,
)
from db import webhook_repo
from db.webhook_models import WebhookDeliveryRow, WebhookEndpointRow
from services.base import NOT_FOUND, ClientSource, UnitOfWork
from services.errors import ENGINE_UNAVAILABLE, Unavailable


class WebhookInputError(DomainError):
    """Input refused before anything changed; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(
            INVALID_ARGUMENT, f"{field}: {reason}", {"errors": [{"field": field, "reason": reason}]}
        )
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Endpoint:
    id: str
    url: str
    event_types: list[str]  # empty: every type
    status: EndpointStatus
    created_at: datetime
    failing_since: datetime | None


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: Endpoint
    secret: str  # shown once: only this answer carries it


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: str
    workspace_id: str
    attempt: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    next_retry_at: datetime | None


@dataclass(frozen=True)
class Replay:
    endpoint_id: str
    after: str | None
    until: str | None
    workspace_id: str | None


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _endpoint(row: WebhookEndpointRow) -> Endpoint:
    status = cast(EndpointStatus, row.status)  # the column holds only these
    return Endpoint(row.id, row.url, list(row.event_types), status, row.created_at, row.failing_since)


def _delivery(row: WebhookDeliveryRow) -> Delivery:
    return Delivery(
        row.id,
        row.event_id,
        row.workspace_id,
        row.attempt,
        row.at,
        row.ok,
        row.status_code,
        row.error,
        row.duration_ms,
        row.next_retry_at,
    )


T = TypeVar("T")


@contextlib.contextmanager
def _engine(doing: str) -> Iterator[None]:
    """Temporal refusing or unreachable: the caller may try again (503 at the HTTP edge)."""
    try:
        yield
    except RPCError as error:
        raise Unavailable(ENGINE_UNAVAILABLE, f"cannot {doing} now: {error.message}") from None


def _checked(field: str, check: Callable[[T], T], value: T) -> T:
    try:
        return check(value)
    except ValueError as error:
        raise WebhookInputError(field, str(error)) from None


class WebhookService:
    def __init__(self, uow: UnitOfWork, clients: ClientSource, policy: DeliveryPolicy) -> None:
        self._uow = uow
        self._clients = clients
        self._policy = policy

    async def _dispatchers(self) -> WebhookDispatchers:
        return WebhookDispatchers(await self._clients())

    async def create(self, url: str, event_types: list[str] | None = None) -> CreatedEndpoint:
        """A new endpoint receiving the events appended from now on; its dispatcher is started.

        Raises:
            WebhookInputError: the URL or an event type is refused (nothing is created).
        """
        checked_url = _checked("url", check_url, url)
        types = _checked("event_types", check_event_types, list(event_types or []))
        id_ = ENDPOINT_PREFIX + secrets.token_hex(12)
        secret = new_secret()
        async with self._uow.write() as session:
            start = await webhook_repo.log_head(session)
            row = await webhook_repo.add_endpoint(session, id_, checked_url, types, secret, start)
            created = _endpoint(row)
        try:
            with _engine("start the endpoint's deliveries"):
                await (await self._dispatchers()).start(id_, start, self._policy)
        except Exception:
            # No dispatcher, no endpoint: the caller may simply try again.
            async with self._uow.write() as session:
                await webhook_repo.remove_endpoint(session, id_)
            raise
        return CreatedEndpoint(created, secret)

    async def endpoints(self) -> list[Endpoint]:
        """Every endpoint, oldest first (never the secrets)."""
        async with self._uow.read() as session:
            return [_endpoint(r) for r in await webhook_repo.endpoints(session)]

    async def get(self, endpoint_id: str) -> Endpoint:
        """The endpoint ``endpoint_id``.

        Raises:
            DomainError: ``not_found``.
        """
        return _endpoint(await self._row(endpoint_id))

    async def _row(self, endpoint_id: str) -> WebhookEndpointRow:
        async with self._uow.read() as session:
            row = await webhook_repo.endpoint(session, endpoint_id)
        if row is None:
            raise DomainError(NOT_FOUND, f"no webhook endpoint {endpoint_id!r}")
        return row

    async def delete(self, endpoint_id: str) -> None:
        """Stop the endpoint's dispatcher and delete it with its delivery log.

        Raises:
            DomainError: ``not_found``.
        """
        await self._row(endpoint_id)
        with _engine("stop the endpoint's deliveries"):
            await (await self._dispatchers()).stop(endpoint_id)
        async with self._uow.write() as session:
            await webhook_repo.remove_endpoint(session, endpoint_id)

    async def deliveries(
        self, endpoint_id: str, limit: int = 50, before: int | None = None
    ) -> list[Delivery]:
        """The endpoint's delivery attempts, newest first, older than delivery ``before``.

        Raises:
            DomainError: ``not_found``.
        """
        await self._row(endpoint_id)
        async with self._uow.read() as session:
            return [_delivery(r) for r in await webhook_repo.deliveries(session, endpoint_id, limit, before)]

    async def replay(
        self,
        endpoint_id: str,
        after: str | None = None,
        until: str | None = None,
        workspace_id: str | None = None,
    ) -> Replay:
        """Send again the events after ``after`` (omitted: the log's start) up to ``until``
        (omitted: the newest now), of one workspace or all; a failing endpoint is active again.

        Raises:
            DomainError: ``not_found`` (the endpoint).
            WebhookInputError: an unknown event id, or ``until`` before ``after``.
        """
        row = await self._row(endpoint_id)
        async with self._uow.write() as session:
            after_seq = await self._seq(session, "after", after) if after else 0
            until_seq = (
                await self._seq(session, "until", until) if until else await webhook_repo.log_head(session)
            )
            if until_seq < after_seq:
                raise WebhookInputError("until", "must not come before `after` in the log")
            await webhook_repo.set_status(session, endpoint_id, "active", None)
        wanted = ReplayRange(after_seq=after_seq, until_seq=until_seq, workspace_id=workspace_id)
        with _engine("ask for the replay"):
            await (await self._dispatchers()).replay(endpoint_id, wanted, row.start_seq, self._policy)
        return Replay(endpoint_id, after, until, workspace_id)

    @staticmethod
    async def _seq(session: AsyncSession, field: str, event_id: str) -> int:
        seq = await webhook_repo.event_seq(session, event_id)
        if seq is None:
            raise WebhookInputError(field, f"no event {event_id!r}")
        return seq

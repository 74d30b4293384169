"""SQL over webhook endpoints and their delivery log; the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.event_models import EventRow
from db.webhook_models import WebhookDeliveryRow, WebhookEndpointRow


async def log_head(session: AsyncSession) -> int:
    """The global ``seq`` of the newest event (0: the log is empty)."""
    return int(await session.scalar(select(func.coalesce(func.max(EventRow.seq), 0))) or 0)


async def event_seq(session: AsyncSession, event_id: str) -> int | None:
    """The global ``seq`` of the event with public id ``event_id``."""
    seq: int | None = await session.scalar(select(EventRow.seq).where(EventRow.id == event_id))
    return seq


async def add_endpoint(
    session: AsyncSession, id_: str, url: str, event_types: list[str], secret: str, start_seq: int
) -> WebhookEndpointRow:
    """Insert an active endpoint."""
    row = WebhookEndpointRow(
        id=id_, url=url, event_types=event_types, secret=secret, status="active", start_seq=start_seq
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def endpoint(session: AsyncSession, id_: str) -> WebhookEndpointRow | None:
    """The endpoint ``id_``."""
    return await session.get(WebhookEndpointRow, id_)


async def endpoints(session: AsyncSession) -> list[WebhookEndpointRow]:
    """Every endpoint, oldest first."""
    query = select(WebhookEndpointRow).order_by(WebhookEndpointRow.created_at, WebhookEndpointRow.id)
    return list(await session.scalars(query))


async def remove_endpoint(session: AsyncSession, id_: str) -> bool:
    """Delete the endpoint and its delivery log; False: there was none."""
    done = await session.execute(delete(WebhookEndpointRow).where(WebhookEndpointRow.id == id_))
    return bool(getattr(done, "rowcount", 0))


async def set_status(session: AsyncSession, id_: str, status: str, since: datetime | None) -> None:
    """Set the endpoint's status (``failing_since`` with it: None when active again)."""
    await session.execute(
        update(WebhookEndpointRow)
        .where(WebhookEndpointRow.id == id_)
        .values(status=status, failing_since=since)
    )


async def log_attempt(session: AsyncSession, row: WebhookDeliveryRow) -> None:
    """Record one delivery attempt."""
    session.add(row)
    await session.flush()


async def attempt_logged(
    session: AsyncSession, endpoint_id: str, event_id: str, activity_key: str
) -> WebhookDeliveryRow | None:
    """The attempt the activity execution ``activity_key`` logged for the event, if any."""
    query = select(WebhookDeliveryRow).where(
        WebhookDeliveryRow.endpoint_id == endpoint_id,
        WebhookDeliveryRow.event_id == event_id,
        WebhookDeliveryRow.activity_key == activity_key,
    )
    found: WebhookDeliveryRow | None = await session.scalar(query.limit(1))
    return found


async def deliveries(
    session: AsyncSession, endpoint_id: str, limit: int, before: int | None = None
) -> list[WebhookDeliveryRow]:
    """Up to ``limit`` attempts to ``endpoint_id``, newest first, older than id ``before``."""
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.endpoint_id == endpoint_id)
    if before is not None:
        query = query.where(WebhookDeliveryRow.id < before)
    return list(await session.scalars(query.order_by(WebhookDeliveryRow.id.desc()).limit(limit)))

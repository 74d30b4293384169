"""Helpers of the e-mail tests: outbox rows, workspaces, a relay on a sink."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.email_relay import EmailRelayActivities, RetryRule
from activities.records import outbox_row
from activities.smtp import SmtpConfig
from contracts.records import OutboxEmail
from db import records_repo
from db.engine import session_factory
from devstack.smtp_sink import SmtpSink
from services.workspaces import store_workspace
from tests.integration.workspace_support import setup_for

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
FAST = RetryRule(base=timedelta(milliseconds=50), cap=timedelta(milliseconds=200), max_attempts=5)


def relay(engine: AsyncEngine, sink: SmtpSink, retry: RetryRule = FAST) -> EmailRelayActivities:
    """A relay sending to ``sink`` with a short backoff."""
    return EmailRelayActivities(session_factory(engine), SmtpConfig(port=sink.port, timeout_s=5), retry)


async def enqueue(
    engine: AsyncEngine,
    ws: str,
    template: str = "trial_expired",
    data: dict[str, Any] | None = None,
    to: str | None = "billing@example.com",
    key: str | None = None,
    register: bool = True,
) -> str:
    """Put one row in the outbox (of a workspace registered as `setup_for` makes it, with
    billing@example.com as its billing contact, unless ``register`` is False); its key."""
    if register:
        await store_workspace(session_factory(engine), setup_for(ws))
    key = key or f"{ws}|{template}|{AT.isoformat()}"
    email = OutboxEmail(
        workspace_id=ws, idempotency_key=key, template=template, to=to, at=AT, data=data or {}
    )
    async with session_factory(engine).begin() as session:
        await records_repo.insert_outbox(session, outbox_row(email))
    return key


async def outbox(engine: AsyncEngine, ws: str) -> list[dict[str, Any]]:
    """The workspace's outbox rows, oldest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT * FROM email_outbox WHERE workspace_id = :ws ORDER BY id"), {"ws": ws}
        )
        return [dict(r._mapping) for r in rows]


async def drain_until_idle(relay: EmailRelayActivities, rounds: int = 40) -> None:
    """Run the relay until no row is left to send (waiting out short backoffs)."""
    for _ in range(rounds):
        result = await relay.drain()
        if not (result.sent or result.retried or result.failed or result.smtp_unavailable):
            async with relay._sessions() as session:
                waiting = await session.scalar(
                    text("SELECT count(*) FROM email_outbox WHERE sent_at IS NULL AND failed_at IS NULL")
                )
            if not waiting:
                return
        await asyncio.sleep(0.1)

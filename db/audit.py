"""Audit rows for changes made outside the workflow (entities, billing details, cards, tax ids, voids).

Subscription commands are audited by the workflow's decision record; these changes never go
through the workflow, so the endpoint writes the row in the same transaction as the change
(or, for Stripe-backed changes, right after Stripe accepted it). ``request_id`` is unique
per workspace: a retried request with the same ``Idempotency-Key`` is audited once.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession

from db.records_repo import insert_audit

JsonObject = dict[str, JsonValue]


async def write_audit(
    session: AsyncSession,
    *,
    workspace_id: str,
    request_id: str,
    actor: str,
    action: str,
    before: JsonObject | None,
    after: JsonObject | None,
    reason: str | None = None,
) -> None:
    """Append one audit row (once per ``request_id``)."""
    await insert_audit(
        session,
        {
            "workspace_id": workspace_id,
            "request_id": request_id,
            "at": datetime.now(UTC),
            "actor": actor,
            "action": action,
            "reason": reason,
            "before": before,
            "after": after,
        },
    )

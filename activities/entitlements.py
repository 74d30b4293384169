"""The entitlements projection, written by the decision record in its transaction.

`write_decision` calls `project_entitlements` last: the row is replaced when the decision
is newer than the stored one, and when what the subscription grants changed (plan, status,
active, features, limit values, credits included: `billing.entitlements.same_grant`), an
``entitlements.updated`` event with the whole snapshot, as ``GET …/entitlements`` shows it,
is appended in the same transaction.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billing.entitlements import same_grant
from contracts.events import NewEvent
from contracts.records import DecisionRecord
from db import entitlement_repo, event_log

ENTITLEMENTS_UPDATED = "entitlements.updated"


def source_key(version: int) -> str:
    """The event's source key: one ``entitlements.updated`` per projection version."""
    return f"entitlements:{version}"


async def project_entitlements(session: AsyncSession, record: DecisionRecord) -> None:
    """Write ``record``'s entitlements (a record from before they existed carries none).

    Safe to repeat: a retried or late record is not newer than the stored row, so it
    writes nothing, and its event has the same source key.
    """
    snapshot = record.entitlements
    if snapshot is None:
        return
    ws, version, at = record.workspace_id, record.projection.version, record.projection.updated_at
    stored = await entitlement_repo.locked(session, ws)
    if stored is not None and stored.version >= version:
        return
    await entitlement_repo.upsert(session, entitlement_repo.values(ws, snapshot, version, at))
    if stored is not None and same_grant(entitlement_repo.grant_of(stored), snapshot.grant):
        return
    view = await entitlement_repo.view(session, ws, at)
    assert view is not None  # written just above, in this transaction
    event = NewEvent(
        workspace_id=ws,
        type=ENTITLEMENTS_UPDATED,
        occurred_at=at,
        source_key=source_key(version),
        payload=view.model_dump(mode="json"),
    )
    await event_log.append(session, [event])

"""SQL over the entitlements projection. The caller owns the transaction.

`view` reads the row with the counts only the product's data has (connectors, spaces, then
the credits rolled up in the window), over primary keys (``entitlements``, ``workspaces``,
``connections``' ``(workspace_id, id)``, ``usage_daily``'s ``(workspace_id, day)``). The hot
check has its own single statement (`db.entitlement_checks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from billing.entitlements import (
    LIMIT_NAMES,
    Entitlements,
    Grant,
    LimitName,
    Limits,
    credit_days,
    entitlements,
)
from contracts.entitlements import EntitlementsSnapshot
from db.entitlement_models import EntitlementRow
from db.rollup_models import UsageDailyRow
from db.workspace_models import ConnectionRow, WorkspaceRow

E = EntitlementRow
_CONNECTORS = (
    select(func.count())
    .where(ConnectionRow.workspace_id == E.workspace_id, ConnectionRow.status == "active")
    .correlate(E)
    .scalar_subquery()
)
_SPACES = select(WorkspaceRow.spaces).where(WorkspaceRow.id == E.workspace_id).correlate(E).scalar_subquery()


def values(workspace_id: str, snapshot: EntitlementsSnapshot, version: int, at: datetime) -> dict[str, Any]:
    """The row of ``snapshot`` written by decision ``version`` at ``at``."""
    grant, limits = snapshot.grant, snapshot.grant.limits
    return {
        "workspace_id": workspace_id,
        "catalog": grant.catalog,
        "plan": grant.plan,
        "status": grant.status,
        "active": grant.active,
        "features": list(grant.features),
        "max_members": limits.members,
        "max_paid_seats": limits.paid_seats,
        "max_connectors": limits.connectors,
        "max_spaces": limits.spaces,
        "members_used": snapshot.counts.members,
        "paid_seats_used": snapshot.counts.paid_seats,
        "credits_included": grant.credits_included,
        "credits_window_start": grant.credits_window_start,
        "credits_window_end": grant.credits_window_end,
        "version": version,
        "updated_at": at,
    }


def grant_of(row: EntitlementRow) -> Grant:
    """The grant a stored row holds."""
    return Grant(
        catalog=row.catalog,
        plan=row.plan,
        status=row.status,
        active=row.active,
        features=tuple(row.features),
        limits=Limits(
            members=row.max_members,
            paid_seats=row.max_paid_seats,
            connectors=row.max_connectors,
            spaces=row.max_spaces,
        ),
        credits_included=row.credits_included,
        credits_window_start=row.credits_window_start,
        credits_window_end=row.credits_window_end,
    )


async def locked(session: AsyncSession, workspace_id: str) -> EntitlementRow | None:
    """The stored row, locked to the end of the transaction (None: none yet)."""
    statement = select(E).where(E.workspace_id == workspace_id).with_for_update()
    return (await session.execute(statement)).scalar()


async def upsert(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Write ``row`` unless the stored one has the same or a newer ``version``; True when written."""
    stmt = insert(E).values(row)
    upsert = stmt.on_conflict_do_update(
        index_elements=["workspace_id"],
        set_={c: stmt.excluded[c] for c in row if c != "workspace_id"},
        where=E.version < stmt.excluded.version,
    ).returning(E.workspace_id)
    return (await session.execute(upsert)).first() is not None


async def view(session: AsyncSession, workspace_id: str, at: datetime) -> Entitlements | None:
    """The workspace's entitlements with every count as of now (None: no row)."""
    found = (
        await session.execute(
            select(E, func.coalesce(_CONNECTORS, 0), func.coalesce(_SPACES, 0))
            .where(E.workspace_id == workspace_id)
            # The row may be in the session already (read before this transaction's upsert).
            .execution_options(populate_existing=True)
        )
    ).first()
    if found is None:
        return None
    row, connectors, spaces = found
    first, last = credit_days(row.credits_window_start, row.credits_window_end, at)
    credits = await session.scalar(
        select(func.coalesce(func.sum(UsageDailyRow.credits), 0)).where(
            UsageDailyRow.workspace_id == workspace_id, UsageDailyRow.day >= first, UsageDailyRow.day <= last
        )
    )
    used: dict[LimitName, int] = {
        "members": row.members_used,
        "paid_seats": row.paid_seats_used,
        "connectors": int(connectors),
        "spaces": int(spaces),
    }
    assert set(used) == set(LIMIT_NAMES)
    return entitlements(workspace_id, grant_of(row), used, int(credits or 0), row.version, row.updated_at)

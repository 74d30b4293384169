"""SQL over the entitlements projection. The caller owns the transaction.

Every read is one round trip: the row with the one count it needs (connectors, spaces and
credits live with the product's data; members and paid seats with the row), over primary
keys (``entitlements``, ``workspaces``, ``connections``' ``(workspace_id, id)``, and
``usage_daily``'s ``(workspace_id, day)``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Row, Select, func, select
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
# Per limit: its value on the row and how to count what is used (one statement per limit).
_LIMIT_COLUMNS: Final[dict[LimitName, tuple[Any, Any]]] = {
    "members": (E.max_members, E.members_used),
    "paid_seats": (E.max_paid_seats, E.paid_seats_used),
    "connectors": (E.max_connectors, func.coalesce(_CONNECTORS, 0)),
    "spaces": (E.max_spaces, func.coalesce(_SPACES, 0)),
}
_LIMIT_QUERIES: Final[dict[LimitName, Select[Any]]] = {
    name: select(E.active, limit, used) for name, (limit, used) in _LIMIT_COLUMNS.items()
}
_FEATURE_QUERY: Final = select(E.active, E.features)


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


async def feature_row(session: AsyncSession, workspace_id: str) -> Row[Any] | None:
    """``(active, features)`` of the workspace, one round trip (None: no row)."""
    return (await session.execute(_FEATURE_QUERY.where(E.workspace_id == workspace_id))).first()


async def limit_row(session: AsyncSession, workspace_id: str, limit: LimitName) -> Row[Any] | None:
    """``(active, limit, used)`` of one limit, one round trip (None: no row)."""
    return (await session.execute(_LIMIT_QUERIES[limit].where(E.workspace_id == workspace_id))).first()

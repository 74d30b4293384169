"""SQL over the billing page's links. The caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.portal_models import PortalLinkRow


@dataclass(frozen=True)
class ClaimedLink:
    """Whom a link was issued for."""

    workspace_id: str
    user_id: str
    return_url: str | None


async def insert_link(
    session: AsyncSession,
    digest: str,
    workspace_id: str,
    user_id: str,
    return_url: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Store a new link; expired links are pruned on the way (nothing reads them)."""
    await session.execute(delete(PortalLinkRow).where(PortalLinkRow.expires_at < now))
    await session.execute(
        insert(PortalLinkRow).values(
            digest=digest,
            workspace_id=workspace_id,
            user_id=user_id,
            return_url=return_url,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def claim_link(
    session: AsyncSession, digest: str, workspace_id: str, now: datetime
) -> ClaimedLink | None:
    """Use the link once: None when unknown, used, expired or for another workspace."""
    stmt = (
        update(PortalLinkRow)
        .where(
            PortalLinkRow.digest == digest,
            PortalLinkRow.workspace_id == workspace_id,
            PortalLinkRow.used_at.is_(None),
            PortalLinkRow.expires_at > now,
        )
        .values(used_at=now)
        .returning(PortalLinkRow.workspace_id, PortalLinkRow.user_id, PortalLinkRow.return_url)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else ClaimedLink(row[0], row[1], row[2])

"""SQL over a workspace's people and data. The caller owns the transaction (never commits here).

Every write is written to be idempotent on its own: updates carry the state they move
from in their WHERE clause (``status = 'active'`` before suspending), inserts are upserts
on the natural key. Timestamps are arguments (the workflow's instants), so running any
function twice leaves the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import profile_repo
from db.base import Base
from db.subscription_models import EmailOutboxRow, SubscriptionRow
from db.workspace_models import (
    AgentRow,
    ConnectionRow,
    DataSourceRow,
    DocumentRow,
    MemberRow,
    SeatLedgerRow,
    SlackBotRow,
    WorkspaceRow,
)

Values = Mapping[str, Any]
"""Column values of one row, by column name."""


@dataclass(frozen=True)
class WorkspaceData:
    """Everything a snapshot is built from, each list ordered by id."""

    workspace: WorkspaceRow
    members: list[MemberRow]
    connections: list[ConnectionRow]
    data_sources: list[DataSourceRow]
    agents: list[AgentRow]
    slack_bot: bool
    billing_contact_email: str | None = None


async def lock_workspace(session: AsyncSession, workspace_id: str) -> WorkspaceRow | None:
    """The workspace row, locked until the caller's transaction ends (None if unknown).

    Every mutating activity takes this lock first, so two attempts of activities on the
    same workspace (a retry racing a slow first attempt, a reactivation racing a due
    deletion) run one after the other and each sees the other's result.
    """
    stmt = select(WorkspaceRow).where(WorkspaceRow.id == workspace_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def upsert_rows(
    session: AsyncSession, model: type[Base], rows: Sequence[Values], keys: Sequence[str]
) -> None:
    """Insert ``rows`` or overwrite the given columns of the rows with the same ``keys``."""
    if not rows:
        return
    stmt = insert(model).values(list(rows))
    columns = {name for row in rows for name in row} - set(keys)
    if columns:
        await session.execute(
            stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in columns})
        )
    else:
        await session.execute(stmt.on_conflict_do_nothing(index_elements=keys))


async def set_slack_bot(session: AsyncSession, workspace_id: str, present: bool) -> None:
    """Install (once) or remove the workspace's Slack bot."""
    if present:
        await upsert_rows(session, SlackBotRow, [{"workspace_id": workspace_id}], ["workspace_id"])
    else:
        await session.execute(delete(SlackBotRow).where(SlackBotRow.workspace_id == workspace_id))


async def upsert_member(session: AsyncSession, values: Values) -> None:
    """Insert a member or update it; ``role_granted_at`` only moves when the role changes."""
    stmt = insert(MemberRow).values(dict(values))
    new = stmt.excluded
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["workspace_id", "user_id"],
            set_={
                "role_granted_at": _if_role_changes(new.role, new.role_granted_at),
                **{c: new[c] for c in values if c not in {"workspace_id", "user_id", "role_granted_at"}},
            },
        )
    )


def _if_role_changes(role: Any, granted_at: Any) -> Any:
    # Same role again (a retry, a no-op update) keeps the original grant time.
    return case((MemberRow.role != role, granted_at), else_=MemberRow.role_granted_at)


async def set_member_role(
    session: AsyncSession, workspace_id: str, user_id: str, role: str, at: datetime
) -> bool:
    """Give a member ``role``; the grant time restarts only on a change. False: no such member."""
    stmt = (
        update(MemberRow)
        .where(MemberRow.workspace_id == workspace_id, MemberRow.user_id == user_id)
        .values(role=role, role_granted_at=_if_role_changes(role, at))
        .returning(MemberRow.user_id)
    )
    return (await session.execute(stmt)).first() is not None


async def data_counts(session: AsyncSession, ws: str) -> tuple[int, int]:
    """(active connections, spaces) of a workspace: what the free plan limits besides members."""
    connections = await session.scalar(
        select(func.count()).where(ConnectionRow.workspace_id == ws, ConnectionRow.status == "active")
    )
    spaces = await session.scalar(select(WorkspaceRow.spaces).where(WorkspaceRow.id == ws))
    return int(connections or 0), int(spaces or 0)


async def load(session: AsyncSession, workspace: WorkspaceRow) -> WorkspaceData:
    """Read the workspace's entities (ordered by id, so equal data gives equal snapshots)."""
    ws = workspace.id

    async def rows(model: Any, order: Any) -> list[Any]:
        found = await session.scalars(select(model).where(model.workspace_id == ws).order_by(order))
        return list(found)

    bot = await session.scalar(select(exists().where(SlackBotRow.workspace_id == ws)))
    contact = await profile_repo.billing_contact(session, ws)
    return WorkspaceData(
        workspace=workspace,
        members=await rows(MemberRow, MemberRow.user_id),
        connections=await rows(ConnectionRow, ConnectionRow.id),
        data_sources=await rows(DataSourceRow, DataSourceRow.id),
        agents=await rows(AgentRow, AgentRow.id),
        slack_bot=bool(bot),
        billing_contact_email=contact,
    )


async def suspend_members(session: AsyncSession, ws: str, user_ids: Sequence[str], at: datetime) -> None:
    """Suspend the listed members that are still active (a suspended one keeps its time)."""
    await session.execute(
        update(MemberRow)
        .where(MemberRow.workspace_id == ws, MemberRow.user_id.in_(user_ids), MemberRow.status == "active")
        .values(status="suspended", suspended_at=at)
    )


async def remove_members(session: AsyncSession, ws: str, user_ids: Sequence[str]) -> None:
    """Remove the listed members from the roster (a removal takes effect everywhere, SPEC §2)."""
    removed = delete(MemberRow).where(MemberRow.workspace_id == ws, MemberRow.user_id.in_(user_ids))
    await session.execute(removed)


async def restore_members(session: AsyncSession, ws: str, user_ids: Sequence[str]) -> None:
    """Reactivate the listed members that are suspended."""
    await session.execute(
        update(MemberRow)
        .where(MemberRow.workspace_id == ws, MemberRow.user_id.in_(user_ids), MemberRow.status == "suspended")
        .values(status="active", suspended_at=None)
    )


async def set_seats(session: AsyncSession, ws: str, seats: Mapping[str, tuple[str, str] | None]) -> None:
    """Set (``(seat_type, cycle)``) or clear (None) the paid seat of each listed member."""
    for user_id, seat in seats.items():
        seat_type, cycle = seat if seat else (None, None)
        await session.execute(
            update(MemberRow)
            .where(MemberRow.workspace_id == ws, MemberRow.user_id == user_id)
            .values(seat_type=seat_type, seat_cycle=cycle)
        )


async def delete_connections(session: AsyncSession, ws: str, ids: Sequence[str], at: datetime) -> None:
    """Mark connections deleted and delete the documents synced from them (the data is gone)."""
    await session.execute(
        delete(DocumentRow).where(DocumentRow.workspace_id == ws, DocumentRow.connection_id.in_(ids))
    )
    await session.execute(
        update(ConnectionRow)
        .where(ConnectionRow.workspace_id == ws, ConnectionRow.id.in_(ids), ConnectionRow.status == "active")
        .values(status="deleted", deleted_at=at)
    )


async def set_agents(session: AsyncSession, ws: str, ids: Sequence[str], active: bool, at: datetime) -> None:
    """Deactivate (``active=False``) or reactivate the listed agents not already so."""
    target, source = ("active", "deactivated") if active else ("deactivated", "active")
    await session.execute(
        update(AgentRow)
        .where(AgentRow.workspace_id == ws, AgentRow.id.in_(ids), AgentRow.status == source)
        .values(status=target, deactivated_at=None if active else at)
    )


async def schedule_deletions(session: AsyncSession, ws: str, due: Mapping[str, datetime]) -> None:
    """Schedule the listed active sources; one already pending keeps its original deadline."""
    for source_id, delete_at in due.items():
        await session.execute(
            update(DataSourceRow)
            .where(
                DataSourceRow.workspace_id == ws,
                DataSourceRow.id == source_id,
                DataSourceRow.status == "active",
                DataSourceRow.deletion_scheduled_at.is_(None),
            )
            .values(deletion_scheduled_at=delete_at)
        )


async def cancel_deletions(session: AsyncSession, ws: str, ids: Sequence[str]) -> None:
    """Cancel the pending deletion of the listed sources that still exist."""
    await session.execute(
        update(DataSourceRow)
        .where(DataSourceRow.workspace_id == ws, DataSourceRow.id.in_(ids), DataSourceRow.status == "active")
        .values(deletion_scheduled_at=None)
    )


async def delete_due_sources(session: AsyncSession, ws: str, at: datetime) -> list[str]:
    """Delete the sources whose deletion is still pending and due at ``at``; their ids.

    The guard is in SQL: a reactivation committed before this cleared
    ``deletion_scheduled_at`` and the source is not touched. ``deleted_at`` is ``at``, so
    the ids deleted "at ``at``" are the same on every retry (including the first run's).
    """
    await session.execute(
        update(DataSourceRow)
        .where(
            DataSourceRow.workspace_id == ws,
            DataSourceRow.status == "active",
            DataSourceRow.deletion_scheduled_at <= at,
        )
        .values(status="deleted", deleted_at=at)
    )
    ids = list(
        await session.scalars(
            select(DataSourceRow.id)
            .where(DataSourceRow.workspace_id == ws, DataSourceRow.status == "deleted")
            .where(DataSourceRow.deleted_at == at)
            .order_by(DataSourceRow.id)
        )
    )
    await session.execute(
        delete(DocumentRow).where(DocumentRow.workspace_id == ws, DocumentRow.data_source_id.in_(ids))
    )
    return ids


async def delete_workspace_data(session: AsyncSession, ws: str, at: datetime) -> None:
    """Delete everything of the workspace that is not a billing or legal record.

    Deleted: members (with their emails and seats), connections, documents, data
    sources, agents, the Slack bot, the seat ledger and unsent emails.
    Kept: the ``workspaces`` row as a tombstone (``deleted_at``; invoices reference it and
    its billing contact is where invoices were sent), the ``subscriptions`` row marked
    ``deleted``, ``subscription_events`` (the timeline that explains every charge on the
    kept invoices), ``audit_log`` (who asked for the deletion, and earlier staff actions),
    sent emails (proof that warnings were given), and invoices (their own tables).
    """
    for model in (DocumentRow, ConnectionRow, DataSourceRow, AgentRow, SlackBotRow, MemberRow, SeatLedgerRow):
        await session.execute(delete(model).where(model.workspace_id == ws))
    await session.execute(
        delete(EmailOutboxRow).where(EmailOutboxRow.workspace_id == ws, EmailOutboxRow.sent_at.is_(None))
    )
    await session.execute(
        update(WorkspaceRow)
        .where(WorkspaceRow.id == ws, WorkspaceRow.deleted_at.is_(None))
        .values(deleted_at=at, spaces=0)
    )
    await session.execute(
        update(SubscriptionRow).where(SubscriptionRow.workspace_id == ws).values(status="deleted")
    )


async def workspace_exists(session: AsyncSession, workspace_id: str) -> bool:
    found = await session.scalar(select(WorkspaceRow.id).where(WorkspaceRow.id == workspace_id))
    return found is not None

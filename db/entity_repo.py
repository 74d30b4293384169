"""SQL behind the entity endpoints: the product tells Tenure about its connections, data
sources, agents and Slack bot as they change. The caller owns the transaction and holds the
workspace lock (`workspace_repo.lock_workspace`).

A revert's marks survive a re-registration: putting an agent the revert deactivated does
not bring it back (only a reactivation does), and a data source already scheduled for
deletion keeps its date. A connection or data source the revert *deleted* is gone; putting
it again creates a new, active one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.workspace import DocumentSetup
from db.workspace_models import AgentRow, ConnectionRow, DataSourceRow, DocumentRow

Kind = type[ConnectionRow] | type[DataSourceRow] | type[AgentRow]


async def get(session: AsyncSession, model: Kind, workspace_id: str, entity_id: str) -> Any:
    """The entity row, or None."""
    return await session.get(model, (workspace_id, entity_id))


async def document_stats(
    session: AsyncSession, workspace_id: str, column: Any, entity_id: str
) -> tuple[int, int]:
    """(count, total bytes) of the documents of one connection or data source."""
    stmt = select(func.count(), func.coalesce(func.sum(DocumentRow.bytes), 0)).where(
        DocumentRow.workspace_id == workspace_id, column == entity_id
    )
    count, total = (await session.execute(stmt)).one()
    return int(count), int(total)


async def replace_documents(
    session: AsyncSession, workspace_id: str, column: Any, entity_id: str, documents: Sequence[DocumentSetup]
) -> None:
    """Make the entity's documents exactly ``documents`` (by id)."""
    keep = [d.id for d in documents]
    await session.execute(
        delete(DocumentRow).where(
            DocumentRow.workspace_id == workspace_id, column == entity_id, DocumentRow.id.not_in(keep)
        )
    )
    if not documents:
        return
    origin = {"connection_id": None, "data_source_id": None, column.key: entity_id}
    rows = [{"workspace_id": workspace_id, "id": d.id, "bytes": d.bytes, **origin} for d in documents]
    stmt = insert(DocumentRow).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["workspace_id", "id"],
            set_={c: stmt.excluded[c] for c in ("bytes", "connection_id", "data_source_id")},
        )
    )


async def put_connection(session: AsyncSession, workspace_id: str, connection_id: str, kind: str) -> None:
    """Create the connection (active) or update its kind; a deleted one comes back as new."""
    stmt = insert(ConnectionRow).values(workspace_id=workspace_id, id=connection_id, kind=kind)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["workspace_id", "id"],
            set_={"kind": stmt.excluded.kind, "status": "active", "deleted_at": None},
        )
    )


async def put_data_source(session: AsyncSession, workspace_id: str, source_id: str, size: int) -> None:
    """Create the data source or update its size; a scheduled deletion keeps its date."""
    stmt = insert(DataSourceRow).values(workspace_id=workspace_id, id=source_id, bytes=size)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["workspace_id", "id"], set_={"bytes": stmt.excluded.bytes})
    )
    # A deleted source put again is a new one: active, with no deletion pending.
    await session.execute(
        update(DataSourceRow)
        .where(
            DataSourceRow.workspace_id == workspace_id,
            DataSourceRow.id == source_id,
            DataSourceRow.status == "deleted",
        )
        .values(status="active", deleted_at=None, deletion_scheduled_at=None)
    )


async def put_agent(session: AsyncSession, workspace_id: str, agent_id: str) -> None:
    """Create the agent (active); an existing one keeps its status (a revert's deactivation)."""
    stmt = insert(AgentRow).values(workspace_id=workspace_id, id=agent_id)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["workspace_id", "id"]))


async def remove(session: AsyncSession, model: Kind, workspace_id: str, entity_id: str) -> bool:
    """Delete the entity (its documents cascade). False: there was none."""
    stmt = delete(model).where(model.workspace_id == workspace_id, model.id == entity_id).returning(model.id)
    return (await session.execute(stmt)).first() is not None

"""Database activities of the subscription workflow over a workspace's people and data (SPEC §2).

`WorkspaceActivities` is built in the worker with a session factory; each activity is ONE
transaction that first locks the workspace row, so attempts on one workspace never
interleave. Applying a recorded plan is idempotent twice over: a marker event keyed by
the plan's instant makes a second run a no-op, and every statement is guarded by the
state it moves from. The semantics are those of the pure `billing.workspace.apply_*`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.decision import write_decision
from activities.records import (
    live_workspace,
    member_views,
    not_found,
    outbox_row,
    publish_timeline,
    seats_of,
    snapshot_of,
    timeline_row,
)
from billing.events import Outbound, seat_events
from billing.workspace import ReactivationPlan, RevertPlan, WorkspaceSnapshot
from contracts import activities as refs
from contracts.records import DecisionRecord, OutboxEmail
from contracts.workspace import DueDeletions, WorkspaceDeletion
from db import records_repo
from db import workspace_repo as repo


def _item_events(
    ws: str, marker: str, plan_at: datetime, event: str, key: str, ids: Iterable[str]
) -> list[dict[str, Any]]:
    # One timeline row per item, keyed by the plan and the item: a re-run inserts nothing.
    return [timeline_row(ws, plan_at, event, f"{marker}:{event}:{i}", {key: i}) for i in ids]


class WorkspaceActivities:
    """All database activities of the subscription workflow (register this class's methods)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name=refs.RECORD_DECISION.name)
    async def record_decision(self, record: DecisionRecord) -> None:
        """Write one decision's record (timeline, roster, seats, ledger, outbox, projection,
        audit) in one transaction; idempotent (every part is keyed)."""
        async with self._sessions.begin() as session:
            await write_decision(session, record)

    @activity.defn(name=refs.RECORD_COMMAND.name)
    async def record_command(self, record: DecisionRecord) -> None:
        """The same record for a command, run once its Update is accepted (a regular activity)."""
        await self.record_decision(record)

    @activity.defn(name=refs.LOAD_SNAPSHOT.name)
    async def load_snapshot(self, workspace_id: str) -> WorkspaceSnapshot:
        """The workspace's people and data now.

        Raises:
            ApplicationError: ``workspace_not_found`` / ``workspace_deleted``, non-retryable.
        """
        async with self._sessions.begin() as session:
            row = await live_workspace(session, workspace_id)
            return snapshot_of(await repo.load(session, row))

    @activity.defn(name=refs.APPLY_REVERT.name)
    async def apply_revert(self, plan: RevertPlan) -> None:
        """Apply a revert to free: suspend, release seats, delete connections and their data,
        remove the Slack bot, deactivate agents, schedule big data sources, warn by email."""
        ws, at = plan.workspace_id, plan.at
        marker = f"revert:{at.isoformat()}"
        async with self._sessions.begin() as session:
            await live_workspace(session, ws)
            # The free-limit violations ride along: the overview reports them from the timeline.
            summary: dict[str, JsonValue] = {
                "kept": list(plan.kept_member_ids),
                "limit_violations": [v.model_dump() for v in plan.limit_violations],
            }
            if not await records_repo.insert_events(
                session, [timeline_row(ws, at, "revert_applied", marker, summary)]
            ):
                return  # this plan was applied by an earlier attempt: nothing may happen twice
            await repo.suspend_members(session, ws, plan.suspended_member_ids, at)
            seats = await _set_seats(session, ws, {h.user_id: None for h in plan.previous_seats}, marker, at)
            await repo.delete_connections(session, ws, plan.deleted_connection_ids, at)
            if plan.remove_slack_bot:
                await repo.set_slack_bot(session, ws, present=False)
            await repo.set_agents(session, ws, plan.deactivated_agent_ids, active=False, at=at)
            due = {d.data_source_id: d.delete_at for d in plan.scheduled_deletions}
            await repo.schedule_deletions(session, ws, due)
            if plan.warning_email is not None:
                await records_repo.insert_outbox(session, outbox_row(_warning(plan)))
            events = _revert_events(plan, marker)
            await records_repo.insert_events(session, events)
            await publish_timeline(session, ws, events, seats)

    @activity.defn(name=refs.APPLY_REACTIVATION.name)
    async def apply_reactivation(self, plan: ReactivationPlan) -> None:
        """Restore members and their seats, reactivate agents, cancel pending deletions.

        Deleted connections stay deleted: their data is gone and nothing lists them.
        """
        ws, at = plan.workspace_id, plan.at
        marker = f"reactivation:{at.isoformat()}"
        async with self._sessions.begin() as session:
            await live_workspace(session, ws)
            counts: dict[str, JsonValue] = {"restored_members": len(plan.restored_member_ids)}
            if not await records_repo.insert_events(
                session, [timeline_row(ws, at, "reactivation_applied", marker, counts)]
            ):
                return
            await repo.restore_members(session, ws, plan.restored_member_ids)
            held = {h.user_id: (h.seat.seat_type, h.seat.cycle) for h in plan.restored_seats}
            seats = await _set_seats(session, ws, held, marker, at)
            await repo.set_agents(session, ws, plan.reactivated_agent_ids, active=True, at=at)
            await repo.cancel_deletions(session, ws, plan.cancelled_deletion_ids)
            events = [
                *_item_events(ws, marker, at, "member_restored", "user", plan.restored_member_ids),
                *_item_events(ws, marker, at, "agent_reactivated", "agent_id", plan.reactivated_agent_ids),
                *_item_events(
                    ws,
                    marker,
                    at,
                    "data_source_deletion_cancelled",
                    "data_source_id",
                    plan.cancelled_deletion_ids,
                ),
            ]
            await records_repo.insert_events(session, events)
            await publish_timeline(session, ws, events, seats)

    @activity.defn(name=refs.DELETE_DUE_DATA_SOURCES.name)
    async def delete_due_data_sources(self, due: DueDeletions) -> list[str]:
        """Delete the sources still pending deletion and due at ``due.at``; their ids.

        A reactivation that cancelled the deletion first wins (the guard is in SQL). A
        retry returns the same ids: they are those deleted at this very instant.
        """
        ws = due.workspace_id
        async with self._sessions.begin() as session:
            row = await repo.lock_workspace(session, ws)
            if row is None:
                raise not_found(ws)
            ids = await repo.delete_due_sources(session, ws, due.at)
            events = _item_events(ws, "deleted", due.at, "data_source_deleted", "data_source_id", ids)
            await records_repo.insert_events(session, events)
            await publish_timeline(session, ws, events)
            return ids

    @activity.defn(name=refs.DELETE_WORKSPACE_DATA.name)
    async def delete_workspace_data(self, deletion: WorkspaceDeletion) -> None:
        """Delete everything of the workspace except billing and legal records (SPEC §2).

        What is kept and why: `db.workspace_repo.delete_workspace_data`. Running it again,
        or for a workspace that is already gone, deletes nothing more.
        """
        ws = deletion.workspace_id
        async with self._sessions.begin() as session:
            await repo.lock_workspace(session, ws)
            await repo.delete_workspace_data(session, ws, deletion.at)
            row = timeline_row(ws, deletion.at, "workspace_data_deleted", "workspace_data_deleted", {})
            await records_repo.insert_events(session, [row])


async def _set_seats(
    session: AsyncSession, ws: str, seats: Mapping[str, tuple[str, str] | None], marker: str, at: datetime
) -> list[Outbound]:
    """Set the seats; their public events (the decision before this plan usually set the same
    seats already: then none), to append last."""
    before = seats_of(await member_views(session, ws, list(seats)))
    await repo.set_seats(session, ws, seats)
    return seat_events(before, seats, at, marker)


def _warning(plan: RevertPlan) -> OutboxEmail:
    email = plan.warning_email
    assert email is not None  # the caller checked
    sources: list[Any] = [
        {"data_source_id": d.data_source_id, "bytes": d.bytes, "delete_at": d.delete_at.isoformat()}
        for d in email.data_sources
    ]
    return OutboxEmail(
        workspace_id=plan.workspace_id,
        idempotency_key=email.idempotency_key,
        template="data_source_deletion_warning",
        to=email.to,
        at=plan.at,
        data={"delete_at": email.delete_at.isoformat(), "data_sources": sources},
    )


def _revert_events(plan: RevertPlan, marker: str) -> list[dict[str, Any]]:
    ws, at = plan.workspace_id, plan.at
    warned = [
        timeline_row(
            ws,
            at,
            "data_source_deletion_warned",
            f"{marker}:data_source_deletion_warned:{d.data_source_id}",
            {"data_source_id": d.data_source_id, "bytes": d.bytes, "delete_at": d.delete_at.isoformat()},
        )
        for d in plan.scheduled_deletions
    ]
    slack: Sequence[str] = ["slack"] if plan.remove_slack_bot else []
    return [
        *_item_events(ws, marker, at, "member_suspended", "user", plan.suspended_member_ids),
        *_item_events(ws, marker, at, "connection_deleted", "connection_id", plan.deleted_connection_ids),
        *_item_events(ws, marker, at, "slack_bot_removed", "bot", slack),
        *_item_events(ws, marker, at, "agent_deactivated", "agent_id", plan.deactivated_agent_ids),
        *warned,
    ]

"""Shared data and helpers of the workspace database tests (plain functions, no fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.retention import FreeLimits, RetentionPolicy, plan_revert
from billing.workspace import Agent, Member, MemberSeat, RevertPlan, WorkspaceSnapshot
from contracts.records import DecisionRecord, SubscriptionProjection
from contracts.workspace import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup

REVERT_AT = datetime(2026, 3, 1, tzinfo=UTC)
ADMIN = frozenset({"admin"})

# Every table a workspace has rows in, with the column that names the workspace.
TABLES = {
    "workspaces": "id",
    "members": "workspace_id",
    "connections": "workspace_id",
    "synced_documents": "workspace_id",
    "data_sources": "workspace_id",
    "agents": "workspace_id",
    "slack_bots": "workspace_id",
    "seat_ledger": "workspace_id",
    "subscriptions": "workspace_id",
    "subscription_events": "workspace_id",
    "audit_log": "workspace_id",
    "email_outbox": "workspace_id",
    "billing_profiles": "workspace_id",
}


def new_workspace_id() -> str:
    """A workspace id no other test uses (tests share one database)."""
    return f"ws-{uuid4().hex[:12]}"


def setup_for(ws: str) -> WorkspaceSetup:
    """Four members (two admins), two connections with documents, a 60 MB and a 1 MB source."""
    monthly = MemberSeat(seat_type="standard", cycle="monthly")
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@example.com",
        spaces=3,
        members=[
            Member(
                user_id="u-alice",
                role="admin",
                role_granted_at=datetime(2025, 1, 1, tzinfo=UTC),
                email="alice@example.com",
                seat=monthly,
            ),
            Member(
                user_id="u-bob",
                role="admin",
                role_granted_at=datetime(2025, 3, 1, tzinfo=UTC),
                email="bob@example.com",
                seat=monthly,
            ),
            Member(
                user_id="u-carol",
                role="user",
                role_granted_at=datetime(2024, 6, 1, tzinfo=UTC),
                seat=MemberSeat(seat_type="standard", cycle="annual"),
            ),
            Member(user_id="u-dave", role="user", role_granted_at=datetime(2025, 2, 1, tzinfo=UTC)),
        ],
        connections=[
            ConnectionSetup(
                id="c-notion",
                kind="notion",
                documents=[DocumentSetup(id="doc-n1", bytes=1_000), DocumentSetup(id="doc-n2", bytes=2_000)],
            ),
            ConnectionSetup(id="c-drive", kind="drive", documents=[DocumentSetup(id="doc-d1", bytes=3_000)]),
        ],
        data_sources=[
            DataSourceSetup(
                id="ds-big", bytes=60_000_000, documents=[DocumentSetup(id="doc-big", bytes=60_000_000)]
            ),
            DataSourceSetup(
                id="ds-small", bytes=1_000_000, documents=[DocumentSetup(id="doc-small", bytes=1_000_000)]
            ),
        ],
        agents=[Agent(id="a-1"), Agent(id="a-2")],
        slack_bot=True,
    )


def projection(
    ws: str, version: int, status: str = "active", seats: int = 3, at: datetime = REVERT_AT
) -> SubscriptionProjection:
    """A ``subscriptions`` row of version ``version`` (updated ``version`` minutes after ``at``)."""
    return SubscriptionProjection(
        workspace_id=ws,
        catalog="seats",
        status=status,
        plan="business",
        paid_seats=seats,
        period_start=at,
        period_end=at + timedelta(days=28),
        pending_change={"kind": "plan", "to_plan": "team", "effective_at": "2026-03-01T00:00:00+00:00"},
        credit_balance=1_250,
        updated_at=at + timedelta(minutes=version),
        version=version,
    )


def decision(ws: str, version: int, **parts: Any) -> DecisionRecord:
    """A decision's record with `projection` ``version`` unless ``parts`` (its other fields) give one."""
    fields: dict[str, Any] = {"admin_roles": sorted(ADMIN), "projection": projection(ws, version), **parts}
    return DecisionRecord(workspace_id=ws, **fields)


def revert_plan(snapshot: WorkspaceSnapshot, at: datetime = REVERT_AT) -> RevertPlan:
    """The revert the workflow would decide (default policy: 50 MB, 7 days, keep one)."""
    return plan_revert(snapshot, at, RetentionPolicy(), ADMIN, limits=FreeLimits(max_members=1))


async def dump(engine: AsyncEngine, ws: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table for ``ws``, in a stable order (full rows, all columns)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with engine.connect() as conn:
        for table, column in TABLES.items():
            query = text(f"SELECT * FROM {table} WHERE {column} = :ws ORDER BY 1, 2")
            out[table] = [dict(r) for r in (await conn.execute(query, {"ws": ws})).mappings()]
    return out


async def scalars(engine: AsyncEngine, sql: str, ws: str) -> list[Any]:
    """The first column of ``sql`` (which filters on ``:ws``), in order."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), {"ws": ws})).scalars())

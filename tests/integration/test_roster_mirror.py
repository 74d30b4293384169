"""One roster (SPEC §2): after every decision, the database's members are the subscription's.

Random sequences of roster and seat commands (adds, role changes, removals, monthly and
annual seats, cancellation to a revert, reactivation) are decided by `billing`, and each
decision is written exactly as the workflow writes it: its record (`build_record` +
`write_decision`, one transaction) and, for a revert or a reactivation, the plan the
workflow builds from the decision (`plan_revert` with the state's roster, `plan_reactivation`
with the state's restored members) applied by the same activities. Then the `members` rows
must equal the state's roster: who, role, grant time, status, and the paid seat held.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.decision import write_decision
from activities.records import register, snapshot_of
from activities.workspace import WorkspaceActivities
from billing import (
    COMMAND_ADAPTER,
    Decision,
    DomainError,
    PostInvoice,
    ReactivateWorkspace,
    RevertWorkspace,
    advance,
    apply,
    new_subscription,
    next_deadline,
    on_invoice_event,
    remember_revert,
    seats_held,
)
from billing.catalog import load_catalog
from billing.retention import plan_reactivation, plan_revert
from billing.state import BillingState, Member
from billing.workspace import Member as WorkspaceMember
from billing.workspace import RevertPlan
from contracts.workspace import WorkspaceSetup
from db import workspace_repo
from db.engine import async_engine
from db.migrate import upgrade
from db.workspace_models import MemberRow
from devstack.postgres import EmbeddedPostgres
from workflows.record import build_record

SEATS = load_catalog("seats")
USERS = ["ann", "ben", "cat", "dov", "eve"]
user = st.sampled_from(USERS)
role = st.sampled_from(["admin", "member"])
commands = st.one_of(
    st.fixed_dictionaries({"kind": st.sampled_from(["add_member", "set_role"]), "user": user, "role": role}),
    st.fixed_dictionaries({"kind": st.just("remove_member"), "user": user}),
    st.fixed_dictionaries(
        {
            "kind": st.just("assign_seat"),
            "user": user,
            "type": st.sampled_from(["pro", "max"]),
            "cycle": st.sampled_from(["monthly", "annual"]),
        }
    ),
    st.fixed_dictionaries({"kind": st.just("unassign_seat"), "user": user}),
    st.fixed_dictionaries({"kind": st.sampled_from(["cancel", "reactivate"])}),
)
steps = st.lists(st.tuples(commands, st.integers(0, 45)), min_size=3, max_size=14)


class Mirror:
    """Decides with `billing` and writes each decision as the subscription workflow does."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ws: str, at: datetime) -> None:
        self.sessions = sessions
        self.activities = WorkspaceActivities(sessions)
        self.ws = ws
        self.version = 0
        self.last_revert: RevertPlan | None = None
        roster = {
            "ann": Member(role="admin", role_granted_at=at),
            "ben": Member(role="member", role_granted_at=at),
        }
        self.state: BillingState = new_subscription(ws, SEATS, at, roster).state

    async def start(self) -> None:
        members = [
            WorkspaceMember(user_id=u, role=m.role, role_granted_at=m.role_granted_at)
            for u, m in self.state.members.items()
        ]
        async with self.sessions.begin() as session:
            await register(session, WorkspaceSetup(workspace_id=self.ws, members=members))

    async def commit(self, decision: Decision, at: datetime, command: Any = None) -> None:
        before, state = self.state, decision.state
        for effect in decision.effects:  # pay every invoice at once (the roster is the point)
            if isinstance(effect, PostInvoice) and effect.invoice.total > 0:
                state = on_invoice_event(state, effect.invoice.number, "paid", at, SEATS).state
        self.version += 1
        record = build_record(before, state, decision.effects, SEATS, at, self.version, command)
        async with self.sessions.begin() as session:
            await write_decision(session, record)
        for effect in decision.effects:
            if isinstance(effect, RevertWorkspace):
                kept = [effect.kept_member] if effect.kept_member else []
                plan = plan_revert(
                    await self.snapshot(),
                    effect.at,
                    SEATS.retention,
                    frozenset(SEATS.roles.billing_admin),
                    limits=SEATS.free_limits(),
                    roster=(kept, effect.suspended_members),
                )
                await self.activities.apply_revert(plan)
                self.last_revert = plan
                state = remember_revert(state, plan)
            elif isinstance(effect, ReactivateWorkspace):
                snapshot = await self.snapshot()
                back = plan_reactivation(
                    snapshot, self.last_revert, effect.at, effect.restored_members, effect.restored_agents
                )
                await self.activities.apply_reactivation(back)
                self.last_revert = None
        self.state = state

    async def snapshot(self) -> Any:
        async with self.sessions() as session:
            row = await workspace_repo.lock_workspace(session, self.ws)
            assert row is not None
            return snapshot_of(await workspace_repo.load(session, row))

    async def tick(self, at: datetime) -> None:
        while (due := next_deadline(self.state)) is not None and due <= at:
            await self.commit(advance(self.state, due, SEATS), due)

    async def rows(self) -> dict[str, tuple[object, ...]]:
        async with self.sessions() as session:
            found = await session.scalars(select(MemberRow).where(MemberRow.workspace_id == self.ws))
            return {
                r.user_id: (r.role, r.role_granted_at, r.status, r.seat_type, r.seat_cycle) for r in found
            }

    def roster(self) -> Mapping[str, tuple[object, ...]]:
        held = seats_held(self.state)
        return {
            u: (
                m.role,
                m.role_granted_at,
                m.status,
                held[u].seat_type if u in held else None,
                held[u].cycle if u in held else None,
            )
            for u, m in self.state.members.items()
        }


async def _run(url: str, sequence: list[tuple[Mapping[str, object], int]]) -> None:
    engine = async_engine(url, pool_size=2)
    try:
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        at = datetime(2026, 1, 31, 6, tzinfo=UTC)
        mirror = Mirror(sessions, f"roster-{uuid.uuid4().hex[:10]}", at)
        await mirror.start()
        assert await mirror.rows() == mirror.roster()
        for index, (fields, days) in enumerate(sequence):
            at += timedelta(days=days, hours=1)
            await mirror.tick(at)
            assert await mirror.rows() == mirror.roster(), "after the clock"
            command = COMMAND_ADAPTER.validate_python({**fields, "request_id": f"r{index}"})
            try:
                decision = apply(mirror.state, command, at, SEATS)
            except DomainError:
                continue
            await mirror.commit(decision, at, command)
            assert await mirror.rows() == mirror.roster(), f"after {command.kind}"
        await mirror.tick(at + timedelta(days=120))
        assert await mirror.rows() == mirror.roster(), "at the end"
    finally:
        await engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=steps)
def test_the_database_roster_is_the_subscription_roster_after_every_decision(
    postgres: EmbeddedPostgres, sequence: list[tuple[Mapping[str, object], int]]
) -> None:
    upgrade(postgres.url)  # idempotent: the schema the other tests migrate to
    asyncio.run(_run(postgres.url, sequence))

"""Mirroring the subscription state into PostgreSQL after each decision.

The workflow is the one writer of the roster and the seat ledger; SQL reporting and the
revert snapshot read them from the database, so every change of the state that matters
there is written through an idempotent activity, keyed by stable business ids.
"""

from __future__ import annotations

from datetime import datetime

from billing.records import MemberUpsert, RoleChange, SeatLedgerEntry, SubscriptionProjection
from billing.state import BillingState, seats_held
from billing.workspace import Member as WorkspaceMember
from workflows.effects import EffectRunner


def projection(state: BillingState, now: datetime, version: int) -> SubscriptionProjection:
    """The `subscriptions` row for ``state``."""
    pending = state.pending_change
    return SubscriptionProjection(
        workspace_id=state.workspace_id,
        catalog=state.catalog_name,
        status=state.status,
        plan=state.plan,
        paid_seats=len(seats_held(state)),
        period_start=state.period_start,
        period_end=state.period_end,
        trial_ends_at=state.trial.ends_at if state.trial else None,
        cancel_at=state.cancel_at,
        pending_change=pending.model_dump(mode="json") if pending else None,
        credit_balance=state.credit_balance,
        updated_at=now,
        version=version,
    )


async def mirror(runner: EffectRunner, before: BillingState, after: BillingState) -> None:
    """Write roster and seat-ledger changes from ``before`` to ``after``."""
    workspace = after.workspace_id
    for user, member in after.members.items():
        previous = before.members.get(user)
        if previous is None:
            await runner.call(
                "upsert_member",
                MemberUpsert(
                    workspace_id=workspace,
                    member=WorkspaceMember(
                        user_id=user, role=member.role, role_granted_at=member.role_granted_at
                    ),
                ),
            )
        elif previous.role != member.role:
            await runner.call(
                "set_member_role",
                RoleChange(workspace_id=workspace, user_id=user, role=member.role, at=member.role_granted_at),
            )
    # The ledger is append-only: its index is a stable key for each entry.
    for index in range(len(before.seat_ledger), len(after.seat_ledger)):
        entry = after.seat_ledger[index]
        await runner.call(
            "record_seat_change",
            SeatLedgerEntry(
                workspace_id=workspace,
                entry_key=f"ledger:{index}",
                at=entry.at,
                user_id=entry.user,
                seat_type=entry.seat_type,
                cycle=entry.cycle,
                quantity=entry.quantity,
                reason=entry.reason,
            ),
        )

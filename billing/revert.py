"""Reverting a workspace at the end of a paid life, and restoring it (SPEC §2).

The workspace's data (connections, agents, data sources) is the workflow's business via
`billing.retention`; here the subscription state decides who keeps access, releases the
seats (remembered for reactivation) and emits `RevertWorkspace`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Unpack

from billing.catalog import Catalog
from billing.changes import BillingStateChanges, evolve
from billing.decision import Outcome, event
from billing.effects import Effect, ReactivateWorkspace, RevertWorkspace, SendEmail
from billing.invoicing.drafts import post_open_invoice
from billing.invoicing.posting import post_invoice
from billing.periods import Period
from billing.retention import members_to_keep
from billing.state import BillingState, Member, SeatEntry, seats_held
from billing.terms import restorable_seats
from billing.workspace import Member as WorkspaceMember


def kept_member(state: BillingState, catalog: Catalog) -> str | None:
    """The member who keeps access: the one rule of `billing.retention.members_to_keep`
    (earliest-granted admin, ties by user id), applied to the subscription's roster."""
    roster = [
        WorkspaceMember(user_id=u, role=m.role, role_granted_at=m.role_granted_at, status=m.status)
        for u, m in state.members.items()
    ]
    kept = members_to_keep(roster, frozenset(catalog.roles.billing_admin), count=1)
    return kept[0] if kept else None


def flush_accrued(state: BillingState, catalog: Catalog, at: datetime) -> Outcome:
    """Post the open draft at once, then invoice the adjustments still accrued, if any.

    Reverting or deleting never drops a draft: its charges were agreed by accepted
    commands, and a period being left is not refunded (unused days are credited by the
    accrued adjustments, as for any posted invoice).
    """
    state, effects = post_open_invoice(state, catalog, at).state_and_effects()
    period = state.period or Period(start=at, end=at)
    final = post_invoice(state, catalog, at, period, [])
    return Outcome(final.state, effects + final.effects)


def _with(changes: BillingStateChanges, **more: Unpack[BillingStateChanges]) -> BillingStateChanges:
    # One set of changes: mypy refuses a TypedDict unpacked beside keywords it may repeat.
    return {**changes, **more}


def end_paid_life(state: BillingState, catalog: Catalog, at: datetime, reason: str) -> Outcome:
    """Revert to the free plan (catalogs with one) or end ``canceled`` (catalogs without).

    Args:
        reason: ``canceled``, ``no_paid_seats``, ``payment_failed`` or ``contract_ended``.
    """
    state, effects = flush_accrued(state, catalog, at).state_and_effects()
    common: BillingStateChanges = {
        "anchor": None,
        "period_index": 0,
        "period_start": None,
        "period_end": None,
        "plan_segments": (),
        "pending_change": None,
        "pending_seat_changes": (),
        "cancel_at": None,
        "cancel_reason": None,
        "cancel_actor": None,
        "contract": None,
        "next_contract": None,
        "prepaid_seats": (),
    }
    if catalog.free_plan is None:
        # No free tier to revert to: entitlements stop, and the workspace's members and
        # data are kept untouched (SPEC §2), so there is nothing to restore either.
        if state.rules < 2:  # how runs recorded before rules 2 decided (see CURRENT_RULES)
            state = evolve(state, **_with(common, status="canceled", reverted_at=at))
            effects.append(RevertWorkspace(at=at, reason=reason))
        else:
            state = evolve(state, **_with(common, status="canceled"))
        return Outcome(state, [*effects, event("canceled", at, reason=reason)], "subscription ended")
    keep = kept_member(state, catalog)
    suspended = tuple(u for u in state.active_members() if u != keep)
    held = seats_held(state)
    restorable = restorable_seats(state, at)
    released = tuple(
        SeatEntry(user=s.user, seat_type=s.seat_type, cycle=s.cycle, quantity=-1, at=at, reason="revert")
        for s in held.values()
    )
    members = {u: evolve(m, status="suspended") if u in suspended else m for u, m in state.members.items()}
    state = evolve(
        state,
        **_with(
            common,
            status="free",
            plan=catalog.free_plan,
            members=members,
            seat_ledger=state.seat_ledger + released,
            seat_stock=(),
            restorable_seats=restorable,
            reverted_at=at,
        ),
    )
    effects += [
        RevertWorkspace(at=at, reason=reason, kept_member=keep, suspended_members=suspended),
        event("reverted_to_free", at, reason=reason, kept_member=keep),
        SendEmail(at=at, template="reverted_to_free", to_role="billing_contact", data={"reason": reason}),
    ]
    return Outcome(state, effects, "reverted to the free plan")


def restore(state: BillingState, at: datetime) -> Outcome:
    """Bring back suspended members and cancel pending data-source deletions."""
    restored = tuple(u for u, m in sorted(state.members.items()) if m.status == "suspended")
    members: dict[str, Member] = {u: evolve(m, status="active") for u, m in state.members.items()}
    cancelled = tuple(d.data_source_id for d in state.data_source_deletions)
    agents = state.deactivated_agents if state.rules >= 2 else None
    state = evolve(state, members=members, data_source_deletions=(), deactivated_agents=(), reverted_at=None)
    effects: list[Effect] = [
        ReactivateWorkspace(
            at=at, restored_members=restored, cancelled_deletions=cancelled, restored_agents=agents
        ),
        event("reactivated", at),
    ]
    return Outcome(state, effects)

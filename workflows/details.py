"""The Markdown that support staff read in the Temporal Web UI.

The static summary and details are set once when a subscription starts (the UI's list and the
workflow page show them); the current details are set by the workflow after every decision.
Neither is a command in the history, so changing this text needs no `workflow.patched`.

The static metadata belongs to the run the client started: SDK 1.35's `continue_as_new` takes
no summary, so later runs (one per billing period) show only the current details, whose first
line therefore repeats the workspace and the catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from billing.deadlines import deadlines
from billing.state import BillingState, Member, seat_counts, seats_held

_DEADLINE_NAMES = {
    "finalize": "invoice finalized",
    "trial_end": "trial ends",
    "trial_notice": "trial-end notice",
    "overdue": "invoice overdue",
    "stock": "a released seat becomes reassignable",
    "delete": "data source deleted",
    "prepaid": "a prepaid seat expires",
    "period_end": "period ends",
}


def _money(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), 100)
    return f"{sign}{units}.{cents:02d}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def first_owner(members: Mapping[str, Member]) -> str:
    """Who a registration is on behalf of: the first admin (or owner) by id, else ``unknown``.

    Registration carries no actor; the workspace's admins are who set it up.
    """
    owners = sorted(user for user, member in members.items() if member.role in {"admin", "owner"})
    return owners[0] if owners else "unknown"


def static_summary(workspace_id: str, catalog: str, started_by: str) -> str:
    """One line for the UI's workflow list, cut at 200 characters (the list shows one line)."""
    return f"{workspace_id} — {catalog}, started by {started_by}"[:200]


def static_details(workspace_id: str, catalog: str, started_by: str, started_at: datetime) -> str:
    """The workflow page's fixed Markdown: who this subscription is and where it came from."""
    return "\n".join(
        [
            f"- **workspace**: {workspace_id}",
            f"- **catalog**: {catalog}",
            f"- **started by**: {started_by}",
            f"- **started at**: {_when(started_at)}",
        ]
    )


def current_details(state: BillingState) -> str:
    """The live Markdown list: status, plan, period, seats, open invoices, next deadline."""
    seats = ", ".join(f"{n} {t} ({c})" for (t, c), n in seat_counts(seats_held(state)).items()) or "none"
    lines = [
        f"**{state.workspace_id}** — {state.status}, plan {state.plan or 'none'} ({state.catalog_name})",
        f"- **status**: {state.status}",
        f"- **plan**: {state.plan or 'none'}",
        f"- **paid seats**: {seats}",
    ]
    if state.period_start and state.period_end:
        lines.append(f"- **period**: {state.period_start.date()} → {state.period_end.date()}")
    if state.trial and state.status == "trialing":
        lines.append(
            f"- **trial ends**: {state.trial.ends_at.date()} (plan: {state.trial.selected_plan or 'none'})"
        )
    if state.pending_change:
        change = state.pending_change
        lines.append(
            f"- **pending**: {change.kind} → {change.to_plan or change.to_seat_type} "
            f"on {change.effective_at.date()}"
        )
    if state.cancel_at:
        lines.append(f"- **cancels at**: {state.cancel_at.date()}")
    if state.credit_balance:
        lines.append(f"- **credit balance**: {_money(state.credit_balance)}")
    open_invoices = [r for r in state.invoices if r.status in {"unpaid", "overdue"}]
    if open_invoices:
        lines.append(f"- **open invoices**: {len(open_invoices)}")
        lines += [
            f"  - {r.number}: {_money(r.total)}, {r.status}, overdue at {r.overdue_at.date()}"
            for r in open_invoices
        ]
    else:
        lines.append("- **open invoices**: none")
    if state.open_invoice is not None:
        lines.append(f"- **draft invoice**: finalized at {_when(state.open_invoice.finalize_at)}")
    upcoming = min(deadlines(state), default=None)
    if upcoming is None:
        lines.append("- **next deadline**: none")
    else:
        lines.append(f"- **next deadline**: {_when(upcoming.at)} ({_DEADLINE_NAMES[upcoming.kind]})")
    return "\n".join(lines)

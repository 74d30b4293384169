"""The current-details Markdown of `workflows.details`: open invoices and the next deadline.

Pure functions of the state, so checked here without a server; `tests/integration/
test_ui_metadata.py` reads them from a running subscription as the Web UI does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from billing import load_catalog, new_subscription
from billing.invoicing.invoices import InvoiceRef
from billing.state import BillingState, Member
from workflows.details import current_details, first_owner, static_summary

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def _state(**changes: object) -> BillingState:
    members = {"alice": Member(role="admin", role_granted_at=NOW)}
    state = new_subscription("acme", load_catalog("seats"), NOW, members=members).state
    return state.model_copy(update=changes)


def test_open_invoices_are_listed_and_the_earliest_deadline_named() -> None:
    unpaid = InvoiceRef(
        number="ACME-2", issued_at=NOW, total=4_900, status="unpaid", overdue_at=NOW + timedelta(days=3)
    )
    paid = InvoiceRef(number="ACME-1", issued_at=NOW, total=1_000, status="paid", overdue_at=NOW)
    lines = current_details(_state(status="past_due", plan="business", invoices=(paid, unpaid))).splitlines()
    assert lines[0] == "**acme** — past_due, plan business (seats)"
    assert "- **open invoices**: 1" in lines
    assert "  - ACME-2: 49.00, unpaid, overdue at 2026-12-07" in lines
    assert not any("ACME-1" in line for line in lines)
    assert lines[-1] == "- **next deadline**: 2026-12-07 12:00 UTC (invoice overdue)"


def test_a_quiet_free_workspace_says_so() -> None:
    lines = current_details(_state()).splitlines()
    assert "- **open invoices**: none" in lines
    assert lines[-1] == "- **next deadline**: none"


def test_credit_is_shown_as_money_and_the_starter_is_an_admin() -> None:
    assert "- **credit balance**: -0.05" in current_details(_state(credit_balance=-5))
    members = {
        "zed": Member(role="member", role_granted_at=NOW),
        "bea": Member(role="admin", role_granted_at=NOW),
    }
    assert first_owner(members) == "bea"
    assert first_owner({}) == "unknown"
    assert len(static_summary("w" * 300, "seats", "bea")) == 200

"""Shared workspace data for the retention tests (the SPEC §7 scenario workspace)."""

from __future__ import annotations

from datetime import UTC, datetime

from billing.retention import FreeLimits, RetentionPolicy
from billing.workspace import Agent, Connection, DataSource, Member, MemberSeat, WorkspaceSnapshot

AT = datetime(2026, 11, 3, tzinfo=UTC)  # end of the cancelled period
POLICY = RetentionPolicy()
LIMITS = FreeLimits(max_members=5, max_connectors=3, max_spaces=5)
SEATS_ADMIN = frozenset({"admin"})
PRO = MemberSeat(seat_type="pro", cycle="monthly")


def day(month: int, dom: int) -> datetime:
    return datetime(2026, month, dom, tzinfo=UTC)


def member(user: str, role: str = "admin", granted: datetime | None = None, **kw: object) -> Member:
    return Member.model_validate({"user_id": user, "role": role, "role_granted_at": granted, **kw})


# The SPEC §7 scenario workspace.
ACME = WorkspaceSnapshot(
    workspace_id="acme",
    members=[
        member("alice", granted=day(1, 5), seat=PRO),
        member("bob", granted=day(2, 1), seat=PRO),
        member("carol", role="member", seat=PRO),
    ],
    connections=[Connection(id="notion"), Connection(id="slack")],
    data_sources=[
        DataSource(id="handbook", bytes=80_000_000),
        DataSource(id="faq", bytes=1_000_000),
    ],
    agents=[Agent(id="support-bot")],
    slack_bot=True,
    spaces=2,
    billing_contact_email="billing@acme.test",
)

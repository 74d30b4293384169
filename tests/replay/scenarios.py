"""The representative stories whose histories are recorded for replay (see docs/histories.md).

Each scenario drives one subscription on the time-skipping server with the real activities,
in the shape of the end-to-end workflow tests. Workspace ids are fixed (the recorder starts
an empty database every time), so the workflow id of a scenario is ``subscription-<name>``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from billing import (
    AssignSeat,
    Cancel,
    Command,
    DeleteWorkspaceCommand,
    ExtendTrial,
    Reactivate,
    SelectPlan,
)
from billing.state import Cycle
from billing.workspace import Agent, Member
from contracts.workspace import ConnectionSetup, DataSourceSetup, DocumentSetup, WorkspaceSetup
from tests.workflows.driver import Driver

Scenario = Callable[[Driver, str], Awaitable[None]]


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class _Ids:
    """Deterministic request ids (they are Update ids, so they land in the histories)."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        return f"{self._prefix}-{self._n}"


async def _update(driver: Driver, command: Command) -> None:
    assert driver.handle is not None
    await driver.handle.execute_update(command.kind, command, id=command.request_id)


async def _assign(driver: Driver, ids: _Ids, user: str, cycle: Cycle = "monthly") -> None:
    seat = AssignSeat(request_id=ids(), actor="alice", user=user, seat_type="pro", cycle=cycle)
    await _update(driver, seat)


def _acme(ws: str, *, data: bool) -> WorkspaceSetup:
    """SPEC §7's example workspace (alice is the earliest admin); with data sources if ``data``."""
    members = [
        Member(user_id="alice", role="admin", role_granted_at=_t("2026-01-05T00:00:00")),
        Member(user_id="bob", role="admin", role_granted_at=_t("2026-02-01T00:00:00")),
        Member(user_id="carol", role="member", role_granted_at=_t("2026-03-01T00:00:00")),
    ]
    if not data:
        return WorkspaceSetup(workspace_id=ws, billing_contact_email="billing@acme.test", members=members)
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@acme.test",
        members=members,
        connections=[
            ConnectionSetup(id="notion", kind="notion", documents=[DocumentSetup(id="n1", bytes=5_000)]),
            ConnectionSetup(id="slack", kind="slack", documents=[DocumentSetup(id="s1", bytes=7_000)]),
        ],
        data_sources=[
            DataSourceSetup(id="handbook", bytes=80_000_000),
            DataSourceSetup(id="faq", bytes=1_000_000),
        ],
        agents=[Agent(id="support-bot")],
        slack_bot=True,
    )


async def seats_worked_example(driver: Driver, ws: str) -> None:
    """Two seats at checkout, a third mid-period, payments, through two period boundaries."""
    ids = _Ids(ws)
    await driver.start(_acme(ws, data=False), "seats", _t("2026-09-03T09:00:00"))
    for user in ("alice", "bob"):
        await _assign(driver, ids, user)
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-09-18T12:00:00"))
    await _assign(driver, ids, "carol")
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-11-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-11-04T00:00:00"))


async def _subscribed_then_cancelled(
    driver: Driver, ws: str, ids: _Ids, alice_cycle: Cycle = "monthly"
) -> None:
    await driver.start(_acme(ws, data=True), "seats", _t("2026-09-03T09:00:00"))
    await _assign(driver, ids, "alice", alice_cycle)
    await _assign(driver, ids, "bob")
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-10T00:00:00"))
    await _update(driver, Cancel(request_id=ids(), actor="bob", reason="too expensive"))


async def cancel_revert_delete(driver: Driver, ws: str) -> None:
    """Cancel → revert to free at period end → the 80 MB data source deleted a week later."""
    await _subscribed_then_cancelled(driver, ws, _Ids(ws))
    await driver.advance_to(_t("2026-11-03T06:00:00"))
    await driver.advance_to(_t("2026-11-10T06:00:00"))


async def reactivation(driver: Driver, ws: str) -> None:
    """Cancel → revert to free → reactivate on day five (restores, cancels the deletion)."""
    ids = _Ids(ws)
    await _subscribed_then_cancelled(driver, ws, ids)
    await driver.advance_to(_t("2026-11-08T10:00:00"))
    await _update(driver, Reactivate(request_id=ids(), actor="alice"))
    await driver.advance_to(_t("2026-11-08T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-11-11T00:00:00"))


async def credits_trial(driver: Driver, ws: str) -> None:
    """Credits trial, plan chosen on day 10, billing from trial end, the first in-arrears invoice."""
    ids = _Ids(ws)
    setup = WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@globex.test",
        members=[
            Member(user_id="olga", role="org_admin", role_granted_at=_t("2026-09-01T00:00:00")),
            Member(user_id="ed", role="viewer", role_granted_at=_t("2026-09-01T00:00:00")),
            Member(user_id="vic", role="viewer", role_granted_at=_t("2026-09-01T00:00:00")),
        ],
    )
    await driver.start(setup, "credits", _t("2026-09-15T10:00:00"))
    await driver.advance_to(_t("2026-09-25T09:00:00"))
    await _update(driver, SelectPlan(request_id=ids(), actor="olga", plan="solo"))
    await driver.advance_to(_t("2026-11-01T06:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-11-02T00:00:00"))


async def delete_workspace(driver: Driver, ws: str) -> None:
    """A paid seat, then "delete everything": the run ends with ``deleted``."""
    ids = _Ids(ws)
    await driver.start(_acme(ws, data=True), "seats", _t("2026-09-03T09:00:00"))
    await _assign(driver, ids, "alice")
    await driver.advance_to(_t("2026-09-05T00:00:00"))
    delete = DeleteWorkspaceCommand(request_id=ids(), actor="alice", confirm=ws)
    await _update(driver, delete)
    assert driver.handle is not None
    await driver.handle.result()


def _credits_team(ws: str) -> WorkspaceSetup:
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@globex.test",
        members=[
            Member(user_id="olga", role="org_admin", role_granted_at=_t("2026-09-01T00:00:00")),
            Member(user_id="ed", role="editor", role_granted_at=_t("2026-09-01T00:00:00")),
        ],
        connections=[ConnectionSetup(id="notion", kind="notion")],
        data_sources=[DataSourceSetup(id="handbook", bytes=80_000_000)],
        agents=[Agent(id="support-bot")],
    )


async def credits_cancel_delete(driver: Driver, ws: str) -> None:
    """Rules 2: a credits plan cancelled ends ``canceled`` with everything kept; resubscribed;
    then "delete everything" mid-month posts the final in-arrears invoice."""
    ids = _Ids(ws)
    await driver.start(_credits_team(ws), "credits", _t("2026-09-15T10:00:00"))
    await driver.advance_to(_t("2026-09-20T09:00:00"))
    await _update(driver, SelectPlan(request_id=ids(), actor="olga", plan="starter"))
    await driver.advance_to(_t("2026-11-01T06:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-11-10T00:00:00"))
    await _update(driver, Cancel(request_id=ids(), actor="olga", reason="budget"))
    await driver.advance_to(_t("2026-12-01T06:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-12-05T09:00:00"))
    await _update(driver, SelectPlan(request_id=ids(), actor="olga", plan="starter"))
    await driver.advance_to(_t("2026-12-16T09:00:00"))
    delete = DeleteWorkspaceCommand(request_id=ids(), actor="olga", confirm=ws)
    await _update(driver, delete)
    assert driver.handle is not None
    await driver.handle.result()


async def annual_cancel(driver: Driver, ws: str) -> None:
    """Rules 2: an annual and a monthly seat, cancelled: the monthly seat ends with the
    period, the annual one runs on (the workspace stays whole until the term ends)."""
    await _subscribed_then_cancelled(driver, ws, _Ids(ws), alice_cycle="annual")
    await driver.advance_to(_t("2026-12-04T00:00:00"))


async def trial_notice(driver: Driver, ws: str) -> None:
    """Rules 4: the trial-ending notice 3 days before the end, the trial extended after it
    (a second notice for the new end), then the trial expires."""
    ids = _Ids(ws)
    await driver.start(_credits_team(ws), "credits", _t("2026-09-15T10:00:00"))
    await driver.advance_to(_t("2026-10-13T00:00:00"))
    await _update(driver, ExtendTrial(request_id=ids(), actor="staff:sam", days=10, reason="goodwill"))
    await driver.advance_to(_t("2026-10-26T00:00:00"))


async def declined_dunning(driver: Driver, ws: str) -> None:
    """Issue 18: a card declined at every charge, dunned on days 3, 5 and 7 to the final rule
    (recorded before the decline codes reached the facts: patch ``decline-codes``)."""
    ids = _Ids(ws)
    await driver.start(
        _acme(ws, data=False), "seats", _t("2026-09-03T09:00:00"), card="pm_card_chargeCustomerFail"
    )
    await _assign(driver, ids, "alice")
    await driver.advance_to(_t("2026-09-11T12:00:00"))


SCENARIOS: dict[str, Scenario] = {
    "seats-worked-example": seats_worked_example,
    "cancel-revert-delete": cancel_revert_delete,
    "reactivation": reactivation,
    "credits-trial": credits_trial,
    "delete-workspace": delete_workspace,
    "credits-cancel-delete": credits_cancel_delete,
    "annual-cancel": annual_cancel,
    # issue 15: rules 4 (the trial-ending notice)
    "trial-notice": trial_notice,
    # issue 18: dunning of a declined card, recorded before patch decline-codes
    "declined-dunning": declined_dunning,
    # patch record-after-acceptance: every command's record is the regular `record_command`
    # activity; the reactivation story (seats, cancel, reactivate: Updates all) shows it
    "reactivation-records-after-acceptance": reactivation,
}

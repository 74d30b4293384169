"""Seat add / remove / change on the seats catalog, end to end, with the exact invoice lines.

Real workflow, real activities, embedded PostgreSQL, Temporal's time-skipping server.
Expected amounts come from SPEC §1.1/§1.4 and the dates (whole UTC days; the day of a
change belongs to the new state; half-up rounding once per line), never from the
implementation. Lines are read where the engine exposes them: adjustments accrue in
``state.accrued`` and the in-advance renewal invoice sits in ``state.open_invoice`` for
its draft window before it posts (the timeline's ``invoice_posted`` keeps the total and
the line count only).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from billing import AssignSeat, BillingState, ChangeSeat, CommandResult, InvoiceLine, UnassignSeat
from billing.overview import PendingChangeView, SeatGroup
from billing.workspace import Member
from contracts.workspace import WorkspaceSetup
from devstack.timeskip import time_skipping_server
from tests.workflows.driver import Driver, request_id

# catalogs/seats.toml, SPEC §1.1
PRO_MONTHLY = 3000
MAX_MONTHLY = 10000
PRO_ANNUAL = 30000

SEP3 = datetime(2026, 9, 3, tzinfo=UTC)
OCT3 = datetime(2026, 10, 3, tzinfo=UTC)
NOV3 = datetime(2026, 11, 3, tzinfo=UTC)
TERM_END = datetime(2027, 9, 3, tzinfo=UTC)

Line = tuple[str, int, int, int, datetime, datetime]


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server (overrides the session's).

    A workflow another module leaves running on a shared server wakes up when this
    module moves the clock, finds no worker for its task queue, and holds time skipping
    back: a private server keeps these tests fast whatever ran before them.
    """
    async with time_skipping_server() as env:
        yield env


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _half_up(value: Fraction) -> int:
    """SPEC §1.4: round once, halves away from zero."""
    sign = -1 if value < 0 else 1
    whole, rest = divmod(abs(value.numerator), value.denominator)
    return sign * (whole + (1 if 2 * rest >= value.denominator else 0))


def _remaining(price: int, at: datetime, start: datetime, end: datetime) -> int:
    """``price`` * (days from ``at``'s day, included, to ``end``) / (days of [start, end))."""
    return _half_up(Fraction(price * (end.date() - at.date()).days, (end.date() - start.date()).days))


def _day(at: datetime) -> datetime:
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def _lines(lines: tuple[InvoiceLine, ...]) -> list[Line]:
    return sorted((x.kind, x.quantity, x.unit_amount, x.amount, x.period_start, x.period_end) for x in lines)


def _setup(ws: str) -> WorkspaceSetup:
    """Two admins, three plain members: five, the free plan's limit."""
    granted = _t("2026-01-05T00:00:00")
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email="billing@acme.test",
        members=[
            Member(user_id="alice", role="admin", role_granted_at=granted),
            Member(user_id="bob", role="admin", role_granted_at=granted),
            Member(user_id="carol", role="member", role_granted_at=granted),
            Member(user_id="dave", role="member", role_granted_at=granted),
            Member(user_id="erin", role="member", role_granted_at=granted),
        ],
    )


async def _start(driver: Driver, catalog: str = "seats") -> str:
    ws = f"seat-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), catalog, _t("2026-09-03T09:00:00"))
    return ws


def _assign(user: str, seat_type: str = "pro", cycle: str = "monthly", actor: str = "alice") -> AssignSeat:
    return AssignSeat.model_validate(
        {"request_id": request_id(), "actor": actor, "user": user, "type": seat_type, "cycle": cycle}
    )


def _change(user: str, seat_type: str, actor: str = "alice") -> ChangeSeat:
    return ChangeSeat.model_validate(
        {"request_id": request_id(), "actor": actor, "user": user, "type": seat_type}
    )


async def _subscription(driver: Driver) -> dict[str, Any]:
    rows = await driver.rows(
        "SELECT status, plan, paid_seats, period_start, period_end, pending_change, credit_balance"
        " FROM subscriptions WHERE workspace_id = :ws"
    )
    assert len(rows) == 1
    return rows[0]


async def _events(driver: Driver, *names: str) -> list[tuple[str, datetime, dict[str, Any]]]:
    rows = await driver.rows(
        "SELECT event, at, data FROM subscription_events WHERE workspace_id = :ws ORDER BY at, id"
    )
    return [(r["event"], r["at"], r["data"]) for r in rows if not names or r["event"] in names]


async def _ledger(driver: Driver) -> list[tuple[str, str, str, int]]:
    rows = await driver.rows(
        "SELECT user_id, seat_type, cycle, quantity FROM seat_ledger WHERE workspace_id = :ws ORDER BY id"
    )
    return [(r["user_id"], r["seat_type"], r["cycle"], r["quantity"]) for r in rows]


async def test_seat_add_remove_and_change_with_exact_invoice_lines(driver: Driver) -> None:
    await _start(driver)
    # Checkout on Sep 3: two monthly pro, one monthly max, one annual pro, one draft invoice.
    for command in (
        _assign("alice"),
        _assign("bob"),
        _assign("carol", "max"),
        _assign("dave", cycle="annual"),
    ):
        await driver.update(command)
    await driver.advance_to(_t("2026-09-03T09:30:00"))
    draft = (await driver.state()).open_invoice
    assert draft is not None
    checkout = [
        ("seat", 1, MAX_MONTHLY, MAX_MONTHLY, SEP3, OCT3),
        ("seat", 1, PRO_ANNUAL, PRO_ANNUAL, SEP3, TERM_END),
        ("seat", 2, PRO_MONTHLY, 2 * PRO_MONTHLY, SEP3, OCT3),
    ]
    assert _lines(draft.lines) == checkout
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    state = await driver.state()
    assert [(_day(i.issued_at), i.total) for i in state.invoices] == [(SEP3, 46000)]
    assert state.open_invoice is None
    await driver.pay_all()
    overview = await driver.overview()
    assert (overview.status, overview.plan, overview.paid_seat_count, overview.seat_stock) == (
        "active",
        "business",
        4,
        0,
    )
    assert (overview.period_start, overview.period_end) == (SEP3, OCT3)

    # Sep 19: a monthly pro seat removed; Sep 19..Oct 2 (14 of 30 days, Sep 19 included) credited.
    await driver.advance_to(_t("2026-09-19T12:00:00"))
    await driver.update(UnassignSeat(request_id=request_id(), actor="alice", user="bob"))
    credit = -_remaining(PRO_MONTHLY, _t("2026-09-19T12:00:00"), SEP3, OCT3)
    assert credit == -1400
    sep19 = _t("2026-09-19T00:00:00")
    assert _lines((await driver.state()).accrued) == [("seat_credit", 1, credit, credit, sep19, OCT3)]

    # Sep 22: pro -> max is immediate; the difference for Sep 22..Oct 2 (11/30 of 7000) is owed.
    await driver.advance_to(_t("2026-09-22T12:00:00"))
    result = await driver.update(_change("alice", "max"))
    assert result.effective_at is None
    upgrade = _remaining(MAX_MONTHLY - PRO_MONTHLY, _t("2026-09-22T12:00:00"), SEP3, OCT3)
    assert upgrade == 2567  # 2566.67, half-up
    sep22 = _t("2026-09-22T00:00:00")
    assert _lines((await driver.state()).accrued) == sorted(
        [
            ("seat_credit", 1, credit, credit, sep19, OCT3),
            ("seat_proration", 1, upgrade, upgrade, sep22, OCT3),
        ]
    )
    overview = await driver.overview()
    assert overview.paid_seats == (
        SeatGroup(seat_type="max", cycle="monthly", count=2, at_next_renewal=2),
        SeatGroup(seat_type="pro", cycle="annual", count=1, at_next_renewal=1),
    )

    # Sep 25: max -> pro waits for the period end (Oct 3); nothing is charged or credited now.
    await driver.advance_to(_t("2026-09-25T12:00:00"))
    result = await driver.update(_change("carol", "pro"))
    assert result.effective_at == OCT3
    overview = await driver.overview()
    assert overview.pending_changes == (
        PendingChangeView(kind="seat_type", effective_at=OCT3, user="carol", to_seat_type="pro"),
    )
    assert overview.paid_seats == (
        SeatGroup(seat_type="max", cycle="monthly", count=2, at_next_renewal=1),
        SeatGroup(seat_type="pro", cycle="annual", count=1, at_next_renewal=1),
        SeatGroup(seat_type="pro", cycle="monthly", count=0, at_next_renewal=1),
    )
    assert len((await driver.state()).accrued) == 2

    # Sep 26: an annual seat removed goes to the seat stock, no refund.
    await driver.advance_to(_t("2026-09-26T12:00:00"))
    await driver.update(UnassignSeat(request_id=request_id(), actor="alice", user="dave"))
    state = await driver.state()
    assert len(state.accrued) == 2
    assert [(s.seat_type, s.term_end, s.reassignable_at) for s in state.seat_stock] == [
        ("pro", TERM_END, OCT3)
    ]
    overview = await driver.overview()
    assert (overview.seat_stock, overview.paid_seat_count) == (1, 2)
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["paid_seats"], row["period_end"]) == (
        "active",
        "business",
        2,
        OCT3,
    )

    # Oct 3: the in-advance renewal (seats held after the downgrade) plus September's adjustments.
    await driver.advance_to(_t("2026-10-03T00:30:00"))
    draft = (await driver.state()).open_invoice
    assert draft is not None
    assert draft.issued_at == OCT3
    renewal = sorted(
        [
            ("seat", 1, MAX_MONTHLY, MAX_MONTHLY, OCT3, NOV3),  # alice
            ("seat", 1, PRO_MONTHLY, PRO_MONTHLY, OCT3, NOV3),  # carol, downgraded
            ("seat_credit", 1, credit, credit, sep19, OCT3),
            ("seat_proration", 1, upgrade, upgrade, sep22, OCT3),
        ]
    )
    assert _lines(draft.lines) == renewal
    total = MAX_MONTHLY + PRO_MONTHLY + credit + upgrade
    assert total == 14167

    await driver.advance_to(_t("2026-10-03T03:00:00"))
    await driver.pay_all()  # collected against the card on file
    state = await driver.state()
    assert [(_day(i.issued_at), i.total, i.status) for i in state.invoices] == [
        (SEP3, 46000, "paid"),
        (OCT3, total, "paid"),
    ]
    assert state.invoices[-1].issued_at == OCT3
    assert (state.accrued, state.open_invoice, state.pending_seat_changes) == ((), None, ())
    overview = await driver.overview()
    assert (overview.period_start, overview.period_end, overview.pending_changes) == (OCT3, NOV3, ())
    assert overview.paid_seats == (
        SeatGroup(seat_type="max", cycle="monthly", count=1, at_next_renewal=1),
        SeatGroup(seat_type="pro", cycle="monthly", count=1, at_next_renewal=1),
    )
    assert next((i.issued_at, i.total) for i in overview.recent_invoices) == (OCT3, total)
    row = await _subscription(driver)
    assert (row["status"], row["plan"], row["paid_seats"], row["period_start"], row["period_end"]) == (
        "active",
        "business",
        2,
        OCT3,
        NOV3,
    )

    posted = await _events(driver, "invoice_posted")
    assert [(_day(at), d["total"], d["lines"]) for _, at, d in posted] == [(SEP3, 46000, 3), (OCT3, total, 4)]
    assert posted[-1][2]["number"] == state.invoices[-1].number
    seats = await _events(driver, "seat_assigned", "seat_unassigned", "seat_changed", "downgrade_scheduled")
    assert [(e, _day(at), d.get("user")) for e, at, d in seats] == [
        ("seat_assigned", SEP3, "alice"),
        ("seat_assigned", SEP3, "bob"),
        ("seat_assigned", SEP3, "carol"),
        ("seat_assigned", SEP3, "dave"),
        ("seat_unassigned", sep19, "bob"),
        ("seat_changed", sep22, "alice"),
        ("downgrade_scheduled", _t("2026-09-25T00:00:00"), "carol"),
        ("seat_unassigned", _t("2026-09-26T00:00:00"), "dave"),
        ("seat_changed", OCT3, "carol"),
    ]
    assert seats[5][2] == {"user": "alice", "from_seat_type": "pro", "to_seat_type": "max"}
    assert seats[8][1] == OCT3
    assert seats[8][2] == {"user": "carol", "from_seat_type": "max", "to_seat_type": "pro"}
    assert await _ledger(driver) == [
        ("alice", "pro", "monthly", 1),
        ("bob", "pro", "monthly", 1),
        ("carol", "max", "monthly", 1),
        ("dave", "pro", "annual", 1),
        ("bob", "pro", "monthly", -1),
        ("alice", "pro", "monthly", -1),
        ("alice", "max", "monthly", 1),
        ("dave", "pro", "annual", -1),
        ("carol", "max", "monthly", -1),
        ("carol", "pro", "monthly", 1),
    ]


async def test_annual_seat_stays_in_stock_until_reassigned(driver: Driver) -> None:
    await _start(driver)
    await driver.update(_assign("alice"))
    await driver.update(_assign("dave", cycle="annual"))
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-09-26T12:00:00"))
    await driver.update(UnassignSeat(request_id=request_id(), actor="alice", user="dave"))
    assert ((await driver.overview()).seat_stock, (await driver.state()).accrued) == (1, ())

    await driver.advance_to(_t("2026-10-05T12:00:00"))
    # Renewal: alice's monthly seat only (the stock seat was paid for the whole term).
    state = await driver.state()
    assert [(i.issued_at, i.total) for i in state.invoices][-1] == (OCT3, PRO_MONTHLY)
    assert (await driver.overview()).seat_stock == 1  # reassignable now, still in stock
    await driver.update(_assign("erin", cycle="annual"))
    state = await driver.state()
    assert state.accrued == ()  # taken from stock: nothing to pay
    assert (await driver.overview()).seat_stock == 0


def _capped_catalog(tmp_path: Path, max_seats: int) -> str:
    """The shipped seats catalog with business capped at ``max_seats`` (100 is slow to reach)."""
    text = resources.files("catalogs").joinpath("seats.toml").read_text("utf-8")
    capped, replaced = re.subn(
        r"(\[plans\.business\][^\[]*?max_seats = )100\b", rf"\g<1>{max_seats}", text, count=1
    )
    assert replaced == 1
    path = tmp_path / "seats-capped.toml"
    path.write_text(capped, "utf-8")
    return str(path)


async def _snapshot(driver: Driver) -> tuple[BillingState, dict[str, Any], int, int, int]:
    state = await driver.state()
    counts = await driver.rows(
        "SELECT (SELECT count(*) FROM subscription_events WHERE workspace_id = :ws) AS events,"
        " (SELECT count(*) FROM audit_log WHERE workspace_id = :ws) AS audit,"
        " (SELECT count(*) FROM seat_ledger WHERE workspace_id = :ws) AS ledger"
    )
    row = await _subscription(driver)
    return state, row, counts[0]["events"], counts[0]["audit"], counts[0]["ledger"]


async def test_rejected_seat_updates_change_nothing(driver: Driver, tmp_path: Path) -> None:
    await _start(driver, _capped_catalog(tmp_path, 2))
    await driver.update(_assign("alice"))
    await driver.update(_assign("bob"))
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-09-10T12:00:00"))
    assert (await driver.overview()).seat_limit == 2
    before = await _snapshot(driver)
    assert before[0].status == "active"
    assert before[1]["paid_seats"] == 2

    rejected: list[tuple[str, Any, str]] = [
        ("assign_seat", _assign("carol"), "seat_limit_reached"),
        ("assign_seat", _assign("zed"), "member_not_found"),
        ("assign_seat", _assign("carol", "ultra"), "seat_type_not_found"),
        ("change_seat", _change("alice", "ultra"), "seat_type_not_found"),
        ("change_seat", _change("zed", "max"), "member_not_found"),
        (
            "unassign_seat",
            UnassignSeat(request_id=request_id(), actor="alice", user="zed"),
            "member_not_found",
        ),
        ("unassign_seat", UnassignSeat(request_id=request_id(), actor="carol", user="bob"), "forbidden"),
        ("change_seat", _change("alice", "max", actor="carol"), "forbidden"),
        ("assign_seat", _assign("carol", actor="zed"), "forbidden"),
    ]
    for name, command, code in rejected:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await driver.update(command)
        cause = failed.value.cause
        assert isinstance(cause, ApplicationError), (name, code, cause)
        assert (name, cause.type) == (name, code)
        assert cause.non_retryable
        assert await _snapshot(driver) == before, (name, code)

    # The workspace still works: removing a seat frees room for another under the cap.
    await driver.update(UnassignSeat(request_id=request_id(), actor="alice", user="bob"))
    await driver.update(_assign("carol"))
    assert (await driver.overview()).paid_seat_count == 2


async def test_same_request_id_twice_returns_the_same_result_and_changes_nothing(driver: Driver) -> None:
    await _start(driver)
    checkout = _assign("alice")
    first = await driver.update(checkout)
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-09-10T12:00:00"))

    added = _assign("bob")
    result = await driver.update(added)
    proration = _remaining(PRO_MONTHLY, _t("2026-09-10T12:00:00"), SEP3, OCT3)  # Sep 10..Oct 2: 23/30
    assert proration == 2300
    sep10 = _t("2026-09-10T00:00:00")
    expected = [("seat_proration", 1, proration, proration, sep10, OCT3)]
    assert _lines((await driver.state()).accrued) == expected
    before = await _snapshot(driver)
    assert before[4] == 2

    # Same Update id (the server's dedupe) and a new Update id with the same request id
    # (the engine's dedupe): the first result comes back, nothing is added.
    assert await driver.update(added) == result
    assert driver.handle is not None
    again: CommandResult = await driver.handle.execute_update(
        added.kind, added, id=f"retry-{uuid.uuid4()}", result_type=CommandResult
    )
    assert again == result
    assert await _snapshot(driver) == before
    assert _lines((await driver.state()).accrued) == expected

    # Across the renewal (a new run, continued as new) the checkout's request id is still known.
    await driver.advance_to(_t("2026-10-03T03:00:00"))
    state = await driver.state()
    assert [(_day(i.issued_at), i.total) for i in state.invoices] == [
        (SEP3, PRO_MONTHLY),
        (OCT3, 2 * PRO_MONTHLY + proration),
    ]
    before = await _snapshot(driver)
    replayed: CommandResult = await driver.handle.execute_update(
        checkout.kind, checkout, id=f"retry-{uuid.uuid4()}", result_type=CommandResult
    )
    assert replayed == first
    assert await _snapshot(driver) == before
    audit = await driver.rows("SELECT request_id FROM audit_log WHERE workspace_id = :ws ORDER BY at")
    assert [r["request_id"] for r in audit] == [checkout.request_id, added.request_id]

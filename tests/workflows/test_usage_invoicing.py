"""Usage sent through the API is what the period-end invoice charges: the solo plan's
in-arrears invoice on the 1st of the next month, exact to the cent, against the real stack."""

from __future__ import annotations

import httpx

from billing import SelectPlan
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_credits_lifecycle import _start, _t


def _event(event_id: str, at: str, kind: str, **fields: object) -> dict[str, object]:
    return {"id": event_id, "kind": kind, "at": at, **fields}


async def test_the_solo_overage_invoice_on_the_first_is_exact(api: httpx.AsyncClient, driver: Driver) -> None:
    trial_end = await _start(driver, _t("2026-03-10T09:00:00"))  # Apr 9, 09:00
    await driver.update(SelectPlan(request_id=request_id(), actor="alice", plan="solo"))
    ws = driver.workspace_id
    usage = [
        # Before the paid period (the trial): free, whatever was used.
        _event("trial-run", "2026-04-01T12:00:00Z", "asset_materialization", partitions=9_000),
        # Apr 9..30: 8,000 credits, 100 minutes; a replayed event counts once.
        _event("run-1", "2026-04-12T08:00:00Z", "asset_materialization", partitions=5_000),
        _event("run-2", "2026-04-20T08:00:00Z", "asset_materialization", partitions=3_000),
        _event("run-2-sensor", "2026-04-20T08:00:00Z", "sensor_evaluation"),
        _event("compute", "2026-04-25T08:00:00Z", "serverless_minutes", minutes=100),
        # May belongs to the next invoice.
        _event("may-run", "2026-05-01T00:00:00Z", "asset_materialization", partitions=700),
    ]
    sent = await api.post(f"/v1/workspaces/{ws}/usage", json={"events": usage})
    assert sent.status_code == 200, sent.text
    again = await api.post(f"/v1/workspaces/{ws}/usage", json={"events": usage[1:3]})
    assert again.json()["new"] == 0

    await driver.advance_to(_t("2026-05-01T06:00:00"))
    await driver.pay_all()
    state = await driver.state()
    [invoice] = state.invoices
    assert invoice.issued_at == _t("2026-05-01T00:00:00")
    assert trial_end.date().isoformat() == "2026-04-09"
    lines = await driver.rows(
        "SELECT kind, quantity, unit_amount, amount FROM invoice_lines l "
        "JOIN invoices i ON i.number = l.invoice_number WHERE i.workspace_id = :ws ORDER BY position"
    )
    # Apr 9..30 is 22 of April's 30 days: solo 1,000 x 22/30 = 733.33 -> 733; included
    # 7,500 x 22/30 = 5,500 credits; 8,000 used: 2,500 over at 4; 100 minutes at 1.
    assert lines == [
        {"kind": "plan_proration", "quantity": 1, "unit_amount": 733, "amount": 733},
        {"kind": "credits_overage", "quantity": 2_500, "unit_amount": 4, "amount": 10_000},
        {"kind": "serverless_minutes", "quantity": 100, "unit_amount": 1, "amount": 100},
    ]
    assert invoice.total == 10_833
    assert driver.payments.charges(ws) == {invoice.number: 1}
    assert [i["amount_paid"] for i in driver.payments.stripe_invoices(ws)] == [10_833]

"""E-mail through the whole stack: the workflow's decisions write the outbox with the data the
templates need, the relay sends it to a real SMTP server (the dev sink), and a refusal shows
in the overview's warnings over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.email_relay import EmailRelayActivities
from activities.smtp import SmtpConfig
from billing import AssignSeat, Cancel
from db.engine import session_factory
from devstack.ports import free_port
from devstack.smtp_sink import SmtpSink
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_revert import _setup


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    with SmtpSink(tmp_path / "mail", free_port()) as sink:
        yield sink


def _relay(engine: AsyncEngine, sink: SmtpSink) -> EmailRelayActivities:
    return EmailRelayActivities(session_factory(engine), SmtpConfig(port=sink.port, timeout_s=5))


async def test_a_receipt_links_the_pdf_and_a_refused_cancellation_is_a_warning(
    api: httpx.AsyncClient, driver: Driver, migrated_engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = f"mail-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", datetime(2026, 9, 3, 9, tzinfo=UTC))
    await driver.update(AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro"))
    await driver.advance_to(datetime(2026, 9, 3, 12, tzinfo=UTC))
    await driver.wait_for(lambda s: bool(s.invoices) and s.invoices[0].status == "paid", "the invoice paid")
    relay = _relay(migrated_engine, smtp_sink)
    assert (await relay.drain(workspace_id=ws)).sent == 1
    [receipt] = smtp_sink.messages()
    assert receipt.to == ["billing@acme.test"]
    assert receipt.subject.startswith("Receipt for invoice ")
    [invoice] = await driver.rows("SELECT invoice_pdf FROM invoices WHERE workspace_id = :ws")
    assert invoice["invoice_pdf"]
    assert f"Download the invoice (PDF): {invoice['invoice_pdf']}" in receipt.text()

    await driver.update(Cancel(request_id=request_id(), actor="alice", reason="testing"))
    smtp_sink.refuse("billing@acme.test")
    assert (await relay.drain(workspace_id=ws)).failed == 1
    [row] = await driver.rows(
        "SELECT data FROM email_outbox WHERE workspace_id = :ws AND template = 'cancel_requested'"
    )
    assert row["data"] == {"ends_at": "2026-10-03T00:00:00+00:00"}
    overview = (await api.get(f"/v1/workspaces/{ws}/overview")).json()
    assert (
        "An e-mail (cancel requested) to billing@acme.test was refused: 550 5.1.1 mailbox unavailable"
        in overview["warnings"]
    )

"""The e-mail relay against a real PostgreSQL and a real SMTP server (the dev sink).

The relay's `drain` is called directly (the activity's body, one pass over what is due);
`test_relay_workflow.py` runs it under Temporal.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.email_render import message_id
from contracts.email import RelayJob
from db import workspace_repo
from db.engine import session_factory
from devstack.smtp_sink import SmtpSink
from services.base import UnitOfWork
from services.overview import email_warnings
from services.workspaces import store_workspace
from tests.integration.email.support import AT, drain_until_idle, enqueue, outbox, relay
from tests.integration.workspace_support import new_workspace_id, setup_for


async def test_a_row_is_sent_once_however_often_the_relay_runs(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    key = await enqueue(engine, ws, "invoice_overdue", {"number": "INV-7"})
    sender = relay(engine, smtp_sink)
    first = await sender.drain()
    again = await sender.drain()
    assert (first.sent, again.sent) == (1, 0)
    [mail] = smtp_sink.messages()
    assert mail.subject == "Invoice INV-7 is overdue"
    assert mail.message_id == message_id(key, "billing@tenure.localhost")
    [row] = await outbox(engine, ws)
    assert row["sent_at"] is not None
    assert (row["attempts"], row["last_error"], row["failed_at"]) == (1, None, None)


async def test_two_relays_racing_send_each_row_once(engine: AsyncEngine, smtp_sink: SmtpSink) -> None:
    ws = new_workspace_id()
    keys = [await enqueue(engine, ws, "trial_expired", key=f"{ws}|{n}") for n in range(30)]
    one, two = relay(engine, smtp_sink), relay(engine, smtp_sink)
    results = await asyncio.gather(one.drain(), two.drain(), one.drain(), two.drain())
    assert sum(r.sent for r in results) == 30
    received = sorted(m.message_id for m in smtp_sink.messages())
    assert received == sorted(message_id(k, "billing@tenure.localhost") for k in keys)
    assert all(r["sent_at"] is not None for r in await outbox(engine, ws))


async def test_a_451_is_retried_with_backoff_then_delivered_with_the_same_message_id(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    key = await enqueue(engine, ws, "trial_expired")
    smtp_sink.fail_next("451 4.3.0 try again later", count=2)
    sender = relay(engine, smtp_sink)
    first = await sender.drain()
    assert (first.sent, first.retried) == (0, 1)
    [row] = await outbox(engine, ws)
    assert (row["attempts"], row["last_error"], row["sent_at"]) == (1, "451 4.3.0 try again later", None)
    assert row["next_attempt_at"] is not None
    assert (await sender.drain()).sent == 0  # still backing off
    await drain_until_idle(sender)
    [mail] = smtp_sink.messages()
    assert mail.message_id == message_id(key, "billing@tenure.localhost")
    [row] = await outbox(engine, ws)
    assert (row["attempts"], row["last_error"]) == (3, None)
    assert row["sent_at"] is not None


async def test_a_stopped_server_leaves_the_rows_untouched_until_it_is_back(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "trial_expired")
    smtp_sink.stop()
    sender = relay(engine, smtp_sink)
    down = await sender.drain()
    assert (down.sent, down.smtp_unavailable) == (0, 1)
    assert down.last_error is not None
    assert "cannot reach" in down.last_error
    [row] = await outbox(engine, ws)
    assert (row["attempts"], row["sent_at"]) == (0, None)
    smtp_sink.start()
    assert (await sender.drain()).sent == 1
    assert len(smtp_sink.messages()) == 1


async def test_a_550_is_recorded_for_good(engine: AsyncEngine, smtp_sink: SmtpSink) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "trial_expired")
    smtp_sink.refuse("billing@example.com")
    sender = relay(engine, smtp_sink)
    result = await sender.drain()
    assert (result.sent, result.failed) == (0, 1)
    [row] = await outbox(engine, ws)
    assert row["failed_at"] is not None
    assert row["sent_at"] is None
    assert row["last_error"] == "refused: 550 5.1.1 mailbox unavailable"
    assert (await sender.drain()).failed == 0  # never tried again
    assert smtp_sink.messages() == []
    assert await email_warnings(UnitOfWork(session_factory(engine)), ws) == [
        "An e-mail (trial expired) to billing@example.com was refused: 550 5.1.1 mailbox unavailable"
    ]


async def test_a_recipient_refused_among_others_is_warned_about(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    sessions = session_factory(engine)
    ws = new_workspace_id()
    await store_workspace(sessions, setup_for(ws).model_copy(update={"billing_contact_email": None}))
    await enqueue(engine, ws, "trial_expired", register=False)
    smtp_sink.refuse("bob@example.com", "550 5.2.1 mailbox disabled")
    assert (await relay(engine, smtp_sink).drain()).sent == 1
    [mail] = smtp_sink.messages()
    assert mail.to == ["alice@example.com"]
    assert await email_warnings(UnitOfWork(sessions), ws) == [
        "An e-mail (trial expired) reached alice@example.com but was refused: "
        "bob@example.com: 550 5.2.1 mailbox disabled"
    ]


async def test_a_550_at_data_and_an_unknown_template_are_permanent(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "no_such_template", key=f"{ws}|unknown")
    await enqueue(engine, ws, "trial_expired", key=f"{ws}|refused")
    smtp_sink.fail_next("554 5.6.0 message refused", count=1)
    result = await relay(engine, smtp_sink).drain()
    assert (result.sent, result.failed) == (0, 2)
    unknown, refused = await outbox(engine, ws)
    assert unknown["last_error"].startswith("cannot render 'no_such_template': no e-mail template")
    assert refused["last_error"] == "refused: 554 5.6.0 message refused"


async def test_transient_failures_give_up_after_the_last_attempt(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "trial_expired")
    smtp_sink.fail_next("421 4.7.0 busy", count=100)
    await drain_until_idle(relay(engine, smtp_sink))
    [row] = await outbox(engine, ws)
    assert row["attempts"] == 5
    assert row["last_error"] == "gave up after 5 attempts: 421 4.7.0 busy"
    assert row["failed_at"] is not None


async def test_recipients_are_the_billing_contact_else_every_active_billing_admin(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    sessions = session_factory(engine)
    with_contact, without = new_workspace_id(), new_workspace_id()
    await store_workspace(sessions, setup_for(without).model_copy(update={"billing_contact_email": None}))
    async with sessions.begin() as session:
        # A third admin, suspended since the decision: no mail for them.
        await workspace_repo.suspend_members(session, without, ["u-bob"], AT)
    await enqueue(engine, with_contact, "trial_expired", to="alice@example.com")
    await enqueue(engine, without, "trial_expired", to="bob@example.com", register=False)
    await relay(engine, smtp_sink).drain()
    by_subject = {tuple(m.to): m for m in smtp_sink.messages()}
    assert set(by_subject) == {("billing@example.com",), ("alice@example.com",)}
    [contact_row] = await outbox(engine, with_contact)
    [admins_row] = await outbox(engine, without)
    assert contact_row["recipients"] == ["billing@example.com"]
    assert admins_row["recipients"] == ["alice@example.com"]
    # bob is an admin again: both admins get the next one, in the order their role was granted.
    async with sessions.begin() as session:
        await workspace_repo.restore_members(session, without, ["u-bob"])
    await enqueue(engine, without, "trial_expired", key=f"{without}|again", register=False)
    await relay(engine, smtp_sink).drain()
    assert smtp_sink.messages()[-1].to == ["alice@example.com", "bob@example.com"]


async def test_nobody_to_write_to_is_a_recorded_failure(engine: AsyncEngine, smtp_sink: SmtpSink) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "trial_expired", to=None, register=False)
    result = await relay(engine, smtp_sink).drain()
    assert result.failed == 1
    [row] = await outbox(engine, ws)
    assert row["last_error"].startswith("no recipient")
    [warning] = await email_warnings(UnitOfWork(session_factory(engine)), ws)
    assert warning.startswith("The trial expired e-mail could not be sent: nobody to write to")


async def test_the_polling_relay_waits_for_the_server_to_come_back(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "trial_expired")
    smtp_sink.stop()

    async def back_in_a_second() -> None:
        await asyncio.sleep(1.0)
        smtp_sink.start()

    restart = asyncio.create_task(back_in_a_second())
    result = await relay(engine, smtp_sink).send_due_emails(RelayJob(run_for_s=4, poll_s=0.2))
    await restart
    assert result.sent == 1
    assert result.smtp_unavailable >= 1
    assert len(smtp_sink.messages()) == 1

"""The relay under Temporal (the dev server): started by the worker's `ensure_email_relay`,
it keeps sending what the outbox receives, across continue-as-new."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.worker import Worker

from contracts.email import RelayJob, RelayRequest
from devstack.smtp_sink import SmtpSink
from tests.integration.email.support import enqueue, relay
from tests.integration.workspace_support import new_workspace_id
from worker.composition import workflow_runner
from worker.schedules import EMAIL_RELAY_ID, ensure_email_relay
from workflows.email_relay import EmailRelayWorkflow


async def _received(sink: SmtpSink, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(sink.messages()) < count:
        assert time.monotonic() < deadline, f"{len(sink.messages())} of {count} e-mails arrived"
        await asyncio.sleep(0.1)


async def test_the_relay_workflow_sends_what_arrives_and_is_started_once(
    dev_client: Client, engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    queue = f"email-{uuid.uuid4()}"
    request = RelayRequest(job=RelayJob(run_for_s=0.6, poll_s=0.1), runs_per_history=2)
    worker = Worker(
        dev_client,
        task_queue=queue,
        workflows=[EmailRelayWorkflow],
        activities=[relay(engine, smtp_sink).send_due_emails],
        workflow_runner=workflow_runner(),
    )
    async with worker:
        ws = new_workspace_id()
        await enqueue(engine, ws, "trial_expired", key=f"{ws}|1")
        first = await ensure_email_relay(dev_client, queue, request)
        try:
            assert await ensure_email_relay(dev_client, queue, request) == first  # the running one is kept
            await _received(smtp_sink, 1)
            # Later rows go out too, after the relay continued as new (every ~1.2 s here).
            await asyncio.sleep(1.5)
            await enqueue(engine, ws, "trial_expired", key=f"{ws}|2")
            await _received(smtp_sink, 2)
            handle = dev_client.get_workflow_handle(EMAIL_RELAY_ID)
            description = await handle.describe()
            assert description.status == WorkflowExecutionStatus.RUNNING
            assert description.run_id != first  # continued as new, still one relay
            # The totals count finished activity runs: the one that sent the second may still poll.
            deadline = time.monotonic() + 10
            while (await handle.query(EmailRelayWorkflow.totals)).sent < 2:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.2)
            assert len(smtp_sink.messages()) == 2
        finally:
            await dev_client.get_workflow_handle(EMAIL_RELAY_ID).terminate("test over")

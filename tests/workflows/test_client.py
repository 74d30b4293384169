"""The Python client over Temporal: the same operations and error codes as the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    StartWorkflowUpdateInput,
    WorkflowUpdateHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from billing import AssignSeat
from client import TenureClient, TenureError
from tests.workflows.driver import Driver
from tests.workflows.test_revert import _setup


@pytest.fixture
async def subscribed(driver: Driver) -> tuple[TenureClient, str]:
    ws = f"py-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", datetime(2026, 9, 3, 9, tzinfo=UTC))
    return TenureClient(driver.env.client, driver.task_queue, driver.stripe_task_queue), ws


async def test_commands_previews_and_reads(subscribed: tuple[TenureClient, str]) -> None:
    client, ws = subscribed
    quote = await client.preview(
        ws, AssignSeat.model_validate({"request_id": "q", "actor": "alice", "user": "bob", "type": "pro"})
    )
    assert quote.draft is not None
    result = await client.assign_seat(ws, user="bob", seat_type="pro", actor="alice", request_id="seat-bob")
    assert result.status == "active"
    again = await client.assign_seat(ws, user="bob", seat_type="pro", actor="alice", request_id="seat-bob")
    assert again == result
    assert (await client.overview(ws)).paid_seat_count == 1
    assert (await client.cancel(ws, actor="alice", reason="budget")).status == "canceling"
    assert (await client.reactivate(ws, actor="alice")).status == "active"


async def test_refusals_carry_the_domain_code(subscribed: tuple[TenureClient, str]) -> None:
    client, ws = subscribed
    with pytest.raises(TenureError) as refused:
        await client.assign_seat(ws, user="bob", seat_type="pro", actor="carol")
    assert refused.value.code == "forbidden"
    with pytest.raises(TenureError) as missing:
        await client.overview("no-such-workspace")
    assert missing.value.code == "not_found"
    with pytest.raises(TenureError) as mismatch:
        await client.delete_workspace(ws, confirm="nope", actor="alice")
    assert mismatch.value.code == "confirmation_mismatch"


async def test_support_cancels_by_the_cancel_update(subscribed: tuple[TenureClient, str]) -> None:
    client, ws = subscribed
    with pytest.raises(TenureError) as refused:  # a free workspace: nothing to cancel
        await client.request_cancellation(ws, reason="customer asked by phone", staff="sam")
    assert refused.value.code == "not_allowed_in_status"
    await client.assign_seat(ws, user="alice", seat_type="pro", actor="alice")
    result = await client.request_cancellation(ws, reason="customer asked by phone", staff="sam")
    state = await client.state(ws)
    assert (result.status, state.status, state.cancel_actor) == ("canceling", "canceling", "staff:sam")


class _RunClosing(Interceptor):
    """The server's answer to an Update that lands as the run closes by continue-as-new
    (the time-skipping server's words), given to the first ``times`` Updates."""

    def __init__(self, times: int) -> None:
        self.left = times

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        outer = self

        class Closing(OutboundInterceptor):
            async def start_workflow_update(
                self, input: StartWorkflowUpdateInput
            ) -> WorkflowUpdateHandle[Any]:
                if outer.left > 0:
                    outer.left -= 1
                    raise RPCError("Completed workflow", RPCStatusCode.NOT_FOUND, b"")
                return await super().start_workflow_update(input)

        return Closing(next)


async def test_an_update_meeting_a_closing_run_is_sent_again(driver: Driver) -> None:
    # Seen in CI: a seat assigned at the very instant of a renewal's continue-as-new was
    # refused "not_found: workspace has no subscription" and never applied.
    ws = f"py-{uuid.uuid4().hex[:8]}"
    await driver.start(_setup(ws), "seats", datetime(2026, 9, 3, 9, tzinfo=UTC))
    closing = _RunClosing(times=2)
    config = driver.env.client.config()
    config["interceptors"] = [closing]
    temporal = Client(**config)
    client = TenureClient(temporal, driver.task_queue, driver.stripe_task_queue)
    result = await client.assign_seat(ws, user="bob", seat_type="pro", actor="alice", request_id="seat-bob")
    assert (closing.left, result.status) == (0, "active")
    assert (await client.overview(ws)).paid_seat_count == 1

"""A webhook delivery activity retried after its attempt was logged (the worker killed before
Temporal heard of the completion) answers the logged outcome and sends nothing again; another
execution (a replay of the range, the next attempt) sends as before."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import ActivityEnvironment

from activities.webhook_delivery import WebhookActivities
from contracts.events import NewEvent
from contracts.webhooks import DeliveryPolicy, WebhookAttempt
from db import event_log, webhook_repo
from db.engine import session_factory
from db.webhook_models import WebhookDeliveryRow
from tests.workflows.webhook_receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    server.start()
    yield server
    server.stop()


async def _one_event(engine: AsyncEngine, receiver: Receiver) -> WebhookAttempt:
    ws, endpoint = f"wh-{uuid.uuid4().hex[:8]}", f"we_{uuid.uuid4().hex[:12]}"
    async with session_factory(engine).begin() as session:
        assert receiver.secret is not None
        await webhook_repo.add_endpoint(session, endpoint, receiver.url, [], receiver.secret, 0)
        event = NewEvent(workspace_id=ws, type="seat_assigned", occurred_at=datetime.now(UTC), source_key="k")
        [out] = await event_log.append(session, [event])
    return WebhookAttempt(
        endpoint_id=endpoint,
        event_id=out.id,
        workspace_id=ws,
        attempt=1,
        first_attempt_at=datetime.now(UTC),
        policy=DeliveryPolicy(),
    )


async def _logged(engine: AsyncEngine, attempt: WebhookAttempt) -> int:
    async with session_factory(engine)() as session:
        query = select(func.count()).where(WebhookDeliveryRow.event_id == attempt.event_id)
        return int(await session.scalar(query) or 0)


async def test_a_retried_attempt_answers_what_it_logged(
    migrated_engine: AsyncEngine, receiver: Receiver
) -> None:
    attempt = await _one_event(migrated_engine, receiver)
    activities = WebhookActivities(session_factory(migrated_engine))
    first = ActivityEnvironment()
    assert (await first.run(activities.deliver_webhook, attempt)).delivered
    retry = ActivityEnvironment()
    retry.info = dataclasses.replace(first.info, attempt=2)  # same run and activity id
    assert (await retry.run(activities.deliver_webhook, attempt)).delivered
    assert (len(receiver.acked()), await _logged(migrated_engine, attempt)) == (1, 1)

    replay = ActivityEnvironment()  # another execution: a replay of the range, say
    replay.info = dataclasses.replace(first.info, activity_id="another", attempt=2)
    assert (await replay.run(activities.deliver_webhook, attempt)).delivered
    assert (len(receiver.acked()), await _logged(migrated_engine, attempt)) == (2, 2)

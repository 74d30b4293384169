"""The webhook dispatcher's activities: read the log for an endpoint, send one event, mark failing.

A delivery is one signed POST (Standard Webhooks): ``webhook-id`` is the event id, the same
on every attempt, so a consumer that saw it already can ignore a repeat; the body is the
event as the pull API shows it. Each attempt is logged in its own transaction with its
outcome and, when it failed, the instant of the next attempt (from the same schedule the
workflow waits on). An HTTP failure is an outcome, not an error: the workflow decides when to
try again, so only the database failing makes Temporal retry the activity.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook
from temporalio import activity

from contracts import activities as refs
from contracts.webhooks import (
    EndpointFailing,
    EventRef,
    PendingEvents,
    PendingQuery,
    WebhookAttempt,
    WebhookOutcome,
    next_attempt_at,
)
from db import event_log, webhook_repo
from db.webhook_models import WebhookDeliveryRow
from observability import metrics

USER_AGENT = "Tenure-Webhooks/1"
_MAX_ERROR = 500


def signed_headers(secret: str, event_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` sent at ``at``."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class WebhookActivities:
    """Built with the worker's session factory; one HTTP client per worker process."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            # Redirects are not followed: a consumer's 3xx is not an acknowledgement.
            self._http = httpx.AsyncClient(follow_redirects=False)
        return self._http

    @activity.defn(name=refs.WEBHOOK_PENDING.name)
    async def webhook_pending(self, query: PendingQuery) -> PendingEvents:
        """The next events for the endpoint after ``query.after_seq`` (its types only), by ref."""
        async with self._sessions() as session:
            found = await webhook_repo.endpoint(session, query.endpoint_id)
            if found is None:
                return PendingEvents(gone=True)
            rows = await event_log.after(
                session, query.after_seq, query.limit, query.workspace_id, found.event_types
            )
        if query.until_seq is not None:
            rows = [r for r in rows if r.seq <= query.until_seq]
        return PendingEvents(events=[EventRef(id=r.id, seq=r.seq, workspace_id=r.workspace_id) for r in rows])

    @activity.defn(name=refs.DELIVER_WEBHOOK.name)
    async def deliver_webhook(self, attempt: WebhookAttempt) -> WebhookOutcome:
        """POST the event, signed, to the endpoint; log the attempt; a 2xx is delivered."""
        async with self._sessions() as session:
            endpoint = await webhook_repo.endpoint(session, attempt.endpoint_id)
            event = await event_log.get(session, attempt.event_id)
            # A retry of this activity (the worker died after logging, before Temporal heard)
            # answers the logged outcome instead of sending again; a first try reads nothing.
            info = activity.info()
            key = f"{info.workflow_run_id}/{info.activity_id}"
            logged = None
            if info.attempt > 1 and endpoint is not None:
                logged = await webhook_repo.attempt_logged(
                    session, attempt.endpoint_id, attempt.event_id, key
                )
        if endpoint is None or event is None:
            return WebhookOutcome(gone=endpoint is None, missing=event is None)
        if logged is not None:
            return WebhookOutcome(delivered=logged.ok, status_code=logged.status_code, error=logged.error)
        body = event_log.out(event).model_dump_json().encode()
        at = datetime.now(UTC)
        headers = signed_headers(endpoint.secret, event.id, at, body)
        started = time.monotonic()
        outcome = await self._post(endpoint.url, body, headers, attempt.policy.request_timeout_s)
        duration_ms = int((time.monotonic() - started) * 1000)
        metrics.webhook_delivery(outcome.delivered, outcome.status_code)
        next_at = None
        if not outcome.delivered:
            next_at = next_attempt_at(attempt.first_attempt_at, attempt.attempt, attempt.policy)
        row = WebhookDeliveryRow(
            endpoint_id=attempt.endpoint_id,
            event_id=attempt.event_id,
            workspace_id=attempt.workspace_id,
            attempt=attempt.attempt,
            at=at,
            ok=outcome.delivered,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=duration_ms,
            next_retry_at=next_at,
            activity_key=key,
        )
        try:
            async with self._sessions.begin() as session:
                await webhook_repo.log_attempt(session, row)
        except IntegrityError:  # deleted while we were sending
            return WebhookOutcome(gone=True)
        return outcome

    async def _post(self, url: str, body: bytes, headers: dict[str, str], timeout_s: float) -> WebhookOutcome:
        try:
            response = await self._client().post(url, content=body, headers=headers, timeout=timeout_s)
        except httpx.HTTPError as error:
            reason = f"{type(error).__name__}: {error}".strip()
            return WebhookOutcome(error=reason[:_MAX_ERROR])
        if 200 <= response.status_code < 300:
            return WebhookOutcome(delivered=True, status_code=response.status_code)
        return WebhookOutcome(status_code=response.status_code, error=f"HTTP {response.status_code}")

    @activity.defn(name=refs.MARK_ENDPOINT_FAILING.name)
    async def mark_endpoint_failing(self, failing: EndpointFailing) -> None:
        """Record that the endpoint's retries ran out (idempotent: the first instant stays)."""
        async with self._sessions.begin() as session:
            found = await webhook_repo.endpoint(session, failing.endpoint_id)
            if found is not None and found.status != "failing":
                await webhook_repo.set_status(session, failing.endpoint_id, "failing", failing.at)
                metrics.WEBHOOK_ENDPOINTS_FAILING.inc()

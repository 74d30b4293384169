"""Webhook endpoints, signed asynchronous delivery, retries with backoff.

Each endpoint has its own queue and worker task, so a slow or failing receiver
never delays another one, and one receiver sees its events in creation order
(real Stripe does not promise order; consumers must not rely on it either).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field

import httpx

from devstack.stripe_emulator.settings import EmulatorSettings
from devstack.stripe_emulator.state import JSON, Event, event_json, new_id


def sign(payload: str, secret: str, timestamp: int) -> str:
    """Return a ``Stripe-Signature`` header value (Stripe's v1 scheme).

    Args:
        payload: the exact request body.
        secret: the endpoint's signing secret (``whsec_...``).
        timestamp: Unix time of the attempt.

    Returns:
        ``t=<timestamp>,v1=<hex hmac_sha256(secret, "<timestamp>.<payload>")>``.
    """
    signed = f"{timestamp}.{payload}".encode()
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class WebhookEndpoint:
    """A registered receiver; ``events`` is a list of types, ``["*"]`` for all."""

    id: str
    url: str
    secret: str
    events: list[str]

    def wants(self, event_type: str) -> bool:
        """Tell whether this endpoint subscribed to ``event_type``."""
        return any(
            pattern == "*"
            or pattern == event_type
            or (pattern.endswith(".*") and event_type.startswith(pattern[:-1]))
            for pattern in self.events
        )

    def to_json(self) -> JSON:
        """Return the control-API view of the endpoint."""
        return {"id": self.id, "url": self.url, "secret": self.secret, "events": list(self.events)}


@dataclass
class Delivery:
    """The delivery of one event to one endpoint, with its attempts so far."""

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str = "pending"  # pending | succeeded | failed
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None
    attempt_log: list[JSON] = field(default_factory=list)

    def to_json(self) -> JSON:
        """Return the control-API view of the delivery."""
        return {
            "id": self.id,
            "endpoint_id": self.endpoint_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "attempt_log": list(self.attempt_log),
        }


_QueueItem = tuple[Delivery, Event, str]


class WebhookDispatcher:
    """Fans events out to endpoints and delivers them in the background."""

    def __init__(self, settings: EmulatorSettings) -> None:
        """Create a dispatcher with no endpoints.

        Args:
            settings: backoff, attempts and timeout of deliveries.
        """
        self.settings = settings
        self.endpoints: dict[str, WebhookEndpoint] = {}
        self.deliveries: list[Delivery] = []
        self._queues: dict[str, asyncio.Queue[_QueueItem]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._client: httpx.AsyncClient | None = None

    def add_endpoint(self, url: str, secret: str, events: list[str]) -> WebhookEndpoint:
        """Register an endpoint and start its worker (needs the running loop).

        Args:
            url: where to POST events.
            secret: signing secret.
            events: event types to send (``["*"]`` for all).

        Returns:
            The endpoint.
        """
        endpoint = WebhookEndpoint(new_id("we", 24), url, secret, events)
        self.endpoints[endpoint.id] = endpoint
        queue: asyncio.Queue[_QueueItem] = asyncio.Queue()
        self._queues[endpoint.id] = queue
        self._workers[endpoint.id] = asyncio.get_running_loop().create_task(
            self._work(endpoint, queue), name=f"webhook-{endpoint.id}"
        )
        return endpoint

    def remove_endpoint(self, endpoint_id: str) -> bool:
        """Unregister an endpoint; undelivered events for it are dropped."""
        if self.endpoints.pop(endpoint_id, None) is None:
            return False
        self._queues.pop(endpoint_id, None)
        task = self._workers.pop(endpoint_id, None)
        if task is not None:
            task.cancel()
        return True

    def on_event(self, event: Event) -> int:
        """Queue ``event`` for every subscribed endpoint (the state's listener).

        Args:
            event: the new event.

        Returns:
            The number of endpoints it will be delivered to (``pending_webhooks``).
        """
        targets = [e for e in self.endpoints.values() if e.wants(event.type)]
        event.pending_webhooks = len(targets)
        # Serialize once so every attempt signs exactly the bytes it sends.
        body = json.dumps(event_json(event), separators=(",", ":"))
        for endpoint in targets:
            delivery = Delivery(new_id("whd", 16), endpoint.id, event.id, event.type)
            self.deliveries.append(delivery)
            self._queues[endpoint.id].put_nowait((delivery, event, body))
        return len(targets)

    async def _work(self, endpoint: WebhookEndpoint, queue: asyncio.Queue[_QueueItem]) -> None:
        while True:
            delivery, event, body = await queue.get()
            await self._deliver(endpoint, delivery, event, body)

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        return float(
            min(s.webhook_backoff_s * s.webhook_backoff_factor ** (attempt - 1), s.webhook_max_backoff_s)
        )

    async def _deliver(self, endpoint: WebhookEndpoint, delivery: Delivery, event: Event, body: str) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.settings.webhook_timeout_s)
        for attempt in range(1, self.settings.webhook_max_attempts + 1):
            timestamp = int(time.time())
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign(body, endpoint.secret, timestamp),
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks) tenure-emulator",
            }
            delivery.attempts = attempt
            try:
                response = await self._client.post(endpoint.url, content=body.encode(), headers=headers)
            except httpx.HTTPError as exc:
                delivery.last_status_code = None
                delivery.last_error = f"{type(exc).__name__}: {exc}"
            else:
                delivery.last_status_code = response.status_code
                delivery.last_error = None if response.is_success else f"HTTP {response.status_code}"
                if response.is_success:
                    delivery.status = "succeeded"
                    delivery.attempt_log.append({"attempt": attempt, "status_code": response.status_code})
                    event.pending_webhooks = max(0, event.pending_webhooks - 1)
                    return
            delivery.attempt_log.append(
                {"attempt": attempt, "status_code": delivery.last_status_code, "error": delivery.last_error}
            )
            if attempt < self.settings.webhook_max_attempts:
                await asyncio.sleep(self._backoff(attempt))
        delivery.status = "failed"

    async def reset(self) -> None:
        """Drop every endpoint, queued delivery and delivery record."""
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.endpoints.clear()
        self._queues.clear()
        self._workers.clear()
        self.deliveries.clear()

    async def aclose(self) -> None:
        """Stop the workers and close the HTTP client (app shutdown)."""
        await self.reset()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

"""The chaos benchmark's HTTP side-car, in the bench process: it stands between the Stripe
emulator and the API, and it is the consumer of Tenure's outbound webhooks.

``POST /stripe``: the emulator's webhook endpoint. Every signed event is taken over (200 to
the emulator) and delivered to the API as Stripe does, at least once, retried until a 2xx:
most at once, ``delay_share`` of them 1-8 s late (later events overtake them: out of order),
and ``duplicate_share`` of them delivered a second time 1-10 s later, with the same body and
signature. The emulator cannot do this itself (its endpoint queue is in order and exactly
once), and the emulator is not ours to change.

``POST /consumer``: a Tenure webhook endpoint; counts deliveries per event id (a second one
is a duplicate the checker's delivery log must also show).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# How long the relay keeps retrying one delivery (Stripe: 3 days; the API's signature check
# refuses a timestamp older than 5 minutes anyway).
GIVE_UP_S = 280.0


@dataclass
class Relay:
    """Stripe-like webhook delivery to ``api_url`` plus an outbound-webhook consumer."""

    api_url: str
    port: int
    delay_share: float = 0.1
    duplicate_share: float = 0.1
    chaos: bool = True  # off once the fault window closes: deliveries go straight through
    seed: int = 18
    counts: Counter[str] = field(default_factory=Counter)
    received: Counter[str] = field(default_factory=Counter)  # outbound webhooks per event id
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _server: uvicorn.Server | None = None
    _serving: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._http = httpx.AsyncClient(timeout=30)

    async def start(self) -> None:
        """Serve on ``port`` until `stop`."""
        app = Starlette(
            routes=[
                Route("/stripe", self._stripe, methods=["POST"]),
                Route("/consumer", self._consumer, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Stop serving; deliveries still retrying are abandoned (counted)."""
        self.counts["abandoned"] += sum(1 for t in self._tasks if not t.done())
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
        await self._http.aclose()

    def pending(self) -> int:
        """Deliveries not yet acknowledged by the API."""
        return sum(1 for t in self._tasks if not t.done())

    async def _stripe(self, request: Request) -> Response:
        body = await request.body()
        headers = {
            "Stripe-Signature": request.headers.get("stripe-signature", ""),
            "Content-Type": "application/json",
        }
        self.counts["stripe_events"] += 1
        delay = 0.0
        if self.chaos and self._rng.random() < self.delay_share:
            delay = self._rng.uniform(1, 8)
            self.counts["delayed"] += 1
        self._spawn(self._deliver(body, headers, delay))
        if self.chaos and self._rng.random() < self.duplicate_share:
            self.counts["duplicated"] += 1
            self._spawn(self._deliver(body, headers, delay + self._rng.uniform(1, 10)))
        return Response(status_code=200)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, body: bytes, headers: dict[str, str], delay: float) -> None:
        await asyncio.sleep(delay)
        started, backoff = time.monotonic(), 0.5
        while time.monotonic() - started < GIVE_UP_S:
            try:
                answer = await self._http.post(
                    f"{self.api_url}/v1/stripe/webhook", content=body, headers=headers
                )
            except httpx.HTTPError:
                self.counts["api_unreachable"] += 1
            else:
                if answer.status_code < 300:
                    self.counts["delivered"] += 1
                    return
                self.counts[f"api_{answer.status_code}"] += 1
                if 400 <= answer.status_code < 500:  # Stripe retries those too; a 4xx here is final
                    self.counts["refused"] += 1
                    return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)
        self.counts["given_up"] += 1

    async def _consumer(self, request: Request) -> Response:
        event = await request.json()
        self.received[str(event.get("id"))] += 1
        return Response(status_code=200)

    def duplicates_received(self) -> int:
        """Outbound webhook deliveries beyond the first per event id."""
        return sum(n - 1 for n in self.received.values())

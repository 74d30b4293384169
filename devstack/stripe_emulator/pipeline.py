"""The ``/v1`` request pipeline: faults, auth, rate limit, version, params, idempotency, handler.

Order matters and mirrors what a client can observe from real Stripe plus the
network: an injected fault happens before anything else (the request never
"reached" Stripe), then authentication, then the rate limiter (when enabled; a
refused request touches no state and stores no idempotent response, so its retry
runs normally), then the idempotency check, then the handler under the state lock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections import deque

from starlette.requests import Request
from starlette.responses import Response

from devstack.stripe_emulator.errors import JSON, StripeError, invalid_request
from devstack.stripe_emulator.faults import Fault, FaultInjector
from devstack.stripe_emulator.forms import FormDecodeError, decode_form
from devstack.stripe_emulator.idempotency import IdempotencyStore, StoredResponse, fingerprint, stores_result
from devstack.stripe_emulator.params import Params
from devstack.stripe_emulator.ratelimit import RateLimiter, RequestStats, rate_limited
from devstack.stripe_emulator.resources import (
    customers,
    events,
    invoice_actions,
    invoice_items,
    invoices,
    payment_methods,
    search,
    setup_intents,
    tax_ids,
)
from devstack.stripe_emulator.routing import ApiRoute, Call, match
from devstack.stripe_emulator.settings import EmulatorSettings
from devstack.stripe_emulator.state import EmulatorState, RequestInfo, new_id
from devstack.stripe_emulator.webhooks import WebhookDispatcher

logger = logging.getLogger(__name__)

RAW_SEND_KEY = "tenure.raw_send"
_TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")
_REQUEST_LOG_SIZE = 1000


def all_routes() -> list[ApiRoute]:
    """Return every ``/v1`` route the emulator implements."""
    routes: list[ApiRoute] = []
    for module in (
        customers,
        payment_methods,
        search,
        setup_intents,
        tax_ids,
        invoice_items,
        invoices,
        invoice_actions,
        events,
    ):
        routes.extend(module.ROUTES)
    # Fixed paths first, so ``/v1/invoices/{invoice}`` never shadows an action path.
    routes.sort(key=lambda r: r.pattern.pattern.count("(?P"))
    return routes


def _dumps(body: JSON) -> bytes:
    # Stripe pretty-prints its JSON; keeping that makes curl output readable.
    return json.dumps(body, indent=2).encode()


def _api_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        # ``curl -u sk_test_x:`` sends the key as the Basic user name.
        try:
            key = base64.b64decode(credentials).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    if not header:
        raise StripeError(
            401,
            "invalid_request_error",
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if not key.startswith(_TEST_KEY_PREFIXES) or len(key) <= len("sk_test_"):
        # Live keys are refused on purpose: the emulator must never look like production.
        shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
        raise StripeError(
            401, "invalid_request_error", f"Invalid API Key provided: {shown}", code="api_key_invalid"
        )
    return key


class Emulator:
    """One emulator instance: state, idempotency cache, faults, webhooks."""

    def __init__(self, settings: EmulatorSettings) -> None:
        """Create an empty emulator.

        Args:
            settings: the instance's knobs.
        """
        self.settings = settings
        self.state = EmulatorState()
        self.idempotency = IdempotencyStore(settings.idempotency_key_ttl_s)
        self.faults = FaultInjector()
        self.rate_limiter = RateLimiter(settings.rate_limit_per_second)
        self.stats = RequestStats()
        self.webhooks = WebhookDispatcher(settings)
        self.state.listener = self.webhooks.on_event
        self.routes = all_routes()
        # Every /v1 attempt as the server saw it, for tests of client retries.
        self.request_log: deque[JSON] = deque(maxlen=_REQUEST_LOG_SIZE)

    async def reset(self) -> None:
        """Forget everything: objects, events, idempotency keys, faults, webhooks, counters."""
        async with self.state.lock:
            self.state.reset()
            self.idempotency.clear()
            self.faults.clear()
            self.request_log.clear()
            self.rate_limiter.clear()
            self.stats.clear()
            await self.webhooks.reset()

    async def handle(self, request: Request) -> Response:
        """Serve one ``/v1`` request.

        Args:
            request: the incoming request.

        Returns:
            The response (never reaching the client for a ``drop`` fault).
        """
        method, path = request.method, request.url.path
        self.stats.requests += 1
        fault = self.faults.take(method, path)
        response = await self._handle(request, method, path, fault)
        # Dropped connections are logged with status None: the client got nothing.
        status = None if fault is not None and fault.mode == "drop" else response.status_code
        self.request_log.append(
            {
                "method": method,
                "path": path,
                "idempotency_key": request.headers.get("idempotency-key"),
                "status": status,
                "fault": fault.mode if fault is not None else None,
                "fault_after": fault.after if fault is not None else None,
            }
        )
        return response

    async def _handle(self, request: Request, method: str, path: str, fault: Fault | None) -> Response:
        if fault is not None and not fault.after:
            if fault.mode == "slow":
                await asyncio.sleep(fault.delay_s)
            elif fault.mode == "drop":
                return await _drop_connection(request)
            else:
                return _fault_response(fault)
        response = await self._serve(request, method, path)
        if fault is not None and fault.after:
            # The write happened and its answer is stored; only the client misses it.
            if fault.mode == "drop":
                return await _drop_connection(request)
            return _fault_response(fault)
        return response

    def _respond(self, status: int, body: bytes, request_id: str, extra: dict[str, str]) -> Response:
        headers = {"Request-Id": request_id, "Stripe-Version": self.settings.api_version, **extra}
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    def _check_version(self, request: Request) -> None:
        version = request.headers.get("stripe-version")
        if self.settings.strict_api_version and version and version != self.settings.api_version:
            raise invalid_request(
                f"The Tenure Stripe emulator only speaks API version {self.settings.api_version}, "
                f"but the request asked for {version}.",
            )

    async def _serve(self, request: Request, method: str, path: str) -> Response:
        request_id = new_id("req", 14)
        try:
            api_key = _api_key(request)
            if not self.rate_limiter.allow(api_key):
                self.stats.rate_limited += 1
                raise rate_limited()
            self._check_version(request)
            raw = await request.body() if method == "POST" else request.url.query
            try:
                data = decode_form(raw)
            except FormDecodeError as exc:
                raise invalid_request(str(exc), param=exc.key) from None
            found = match(self.routes, method, path)
            if found is None:
                raise invalid_request(
                    f"Unrecognized request URL ({method}: {path}). The Tenure Stripe emulator "
                    "implements only a subset of the API; see docs/stripe-emulator.md.",
                    status=404,
                )
        except StripeError as exc:
            return self._respond(exc.status, _dumps(exc.body()), request_id, exc.headers)
        api_route, path_params = found
        idem_key = request.headers.get("idempotency-key") if method == "POST" else None
        echo = {"Idempotency-Key": idem_key} if idem_key else {}
        async with self.state.lock:
            if idem_key:
                try:
                    stored = self.idempotency.begin(api_key, idem_key, fingerprint(method, path, data))
                except StripeError as exc:
                    return self._respond(exc.status, _dumps(exc.body()), request_id, echo)
                if stored is not None:
                    replay = {**echo, "Idempotent-Replayed": "true"}
                    return self._respond(stored.status, stored.body, request_id, replay)
            info = RequestInfo(request_id, idem_key, str(request.base_url))
            call = Call(self.state, Params(data), path_params, info, self.settings)
            try:
                status, body = 200, api_route.handler(call)
            except StripeError as exc:
                status, body = exc.status, exc.body()
            except Exception:
                # A bug in the emulator: answer like Stripe's 500 and keep it for replay,
                # as Stripe does, so retries do not re-run a half-applied write.
                logger.exception("emulator handler failed: %s %s", method, path)
                status, body = 500, {"error": {"type": "api_error", "message": "Emulator bug; see its log."}}
            payload = _dumps(body)
            if idem_key and stores_result(status, body):
                self.idempotency.finish(api_key, idem_key, StoredResponse(status, payload))
            elif idem_key:
                self.idempotency.abandon(api_key, idem_key)  # a failed validation: nothing stored
        return self._respond(status, payload, request_id, echo)


def _fault_response(fault: Fault) -> Response:
    if fault.mode == "429":
        body: JSON = {
            "error": {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly (injected by the emulator).",
            }
        }
        headers = {"Stripe-Should-Retry": "true"}
        status = 429
    else:
        body = {"error": {"type": "api_error", "message": "An unknown error occurred (injected)."}}
        headers = {}
        status = 500
    headers["Request-Id"] = new_id("req", 14)
    return Response(_dumps(body), status_code=status, headers=headers, media_type="application/json")


async def _drop_connection(request: Request) -> Response:
    """Close the client connection without sending any byte of a response.

    Uvicorn hands the app its per-request cycle's bound ``send``; the cycle owns the
    transport. Closing it makes the client see "connection closed without
    response", and uvicorn then discards whatever the app answers.
    """
    raw_send = request.scope.get(RAW_SEND_KEY)
    cycle = getattr(raw_send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        raise RuntimeError("the drop fault needs uvicorn (no transport found on send)")
    transport.close()
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return Response(b"", status_code=500)

"""Serving the metrics: `/metrics` and a request middleware for the API, a port for the worker.

The API's `/metrics` carries the API process's own families (requests, commands, entitlement
checks, Stripe events received); the worker's port carries the activities' families and the
Stripe queue backlog. The Temporal SDK's own metrics are on the worker's second port
(`temporal_runtime`).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import make_asgi_app, start_http_server
from prometheus_client.registry import CollectorRegistry
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from observability.metrics import HTTP_LATENCY, HTTP_REQUESTS, REGISTRY

log = logging.getLogger("tenure.metrics")


class _Scrape:
    """prometheus-client's ASGI app as an object: Starlette's `Route` then serves it as ASGI
    (it would call a plain function with a `Request`), and `/metrics` needs no trailing slash."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._app: ASGIApp = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


def metrics_route(registry: CollectorRegistry = REGISTRY) -> Route:
    """``GET /metrics``: ``registry`` in Prometheus' text format, outside the OpenAPI schema."""
    return Route("/metrics", _Scrape(registry), methods=["GET"], include_in_schema=False)


class RequestMetrics:
    """Count and time each HTTP request by its route *template* (``/v1/workspaces/{workspace_id}``).

    Routing sets ``scope["route"]`` while the request runs, so the template is read after it;
    a request no route matched counts as ``unmatched`` (a scan of random paths adds one series).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            template = str(getattr(route, "path", "unmatched"))
            method = str(scope.get("method", ""))
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - started)


def serve_worker_metrics(host: str, port: int, registry: CollectorRegistry = REGISTRY) -> Any:
    """Serve ``registry`` on ``host:port`` from a daemon thread (0: off); returns the server or None."""
    if port == 0:
        return None
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:  # the port is taken: billing matters more than its metrics
        log.error("Tenure metrics off, cannot serve them on %s:%d: %s", host, port, error)
        return None
    return server

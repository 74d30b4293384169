"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.billing import router as billing_router
from api.codec import include_codec
from api.entities import router as entities_router
from api.entitlements import router as entitlements_router
from api.errors import CatchAll, error_response, install_error_handlers
from api.events import router as events_router
from api.health import router as health_router
from api.idempotency import Idempotency
from api.limits import BodyLimit
from api.members import router as members_router
from api.overview import router as overview_router
from api.portal import page_router as portal_page_router
from api.portal import sessions_router as portal_sessions_router
from api.portal_actions import router as portal_actions_router
from api.portal_card import router as portal_card_router
from api.state import AppState
from api.subscriptions import router as subscriptions_router
from api.support import router as support_router
from api.unicode import valid_unicode
from api.usage import router as usage_router
from api.webhook_endpoints import router as webhook_endpoints_router
from api.webhooks import redrive_stripe_events
from api.webhooks import router as webhook_router
from client import TenureError
from config.settings import Settings
from db.engine import async_engine, required_url
from observability.logs import RequestContext
from observability.metrics_http import RequestMetrics, metrics_route
from observability.tracing import instrument_app
from services import services_for


def create_app(settings: Settings) -> FastAPI:
    """Build the API for ``settings``; resources open in the lifespan and close after it."""
    database_url = required_url(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = async_engine(database_url, pool_size=settings.database_pool_size)
        state = AppState(settings, engine)
        app.state.tenure = state
        app.state.services = services_for(settings, engine, state.tenure, state.catalog)
        # issue 18: Stripe events stored but never handed to their workflow are re-sent.
        redrive = asyncio.create_task(
            redrive_stripe_events(app.state.services.invoices, settings.stripe_event_redrive_s)
        )
        try:
            yield
        finally:
            redrive.cancel()
            await app.state.services.entitlements.close()  # the entitlement check's connections
            await engine.dispose()

    app = FastAPI(
        title="Tenure",
        version="0.1.0",
        summary="Subscription lifecycle engine: plans, seats, invoices, usage.",
        lifespan=lifespan,
        dependencies=[Depends(valid_unicode)],
    )
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    install_error_handlers(app)
    # First: routes are matched in order, and the entitlement check is the hottest path.
    app.include_router(entitlements_router)
    app.include_router(health_router)
    app.include_router(webhook_router)
    app.include_router(billing_router)
    app.include_router(overview_router)
    app.include_router(subscriptions_router)
    app.include_router(members_router)
    app.include_router(entities_router)
    app.include_router(support_router)
    app.include_router(usage_router)
    app.include_router(webhook_endpoints_router)
    # issue 15: the outbound event log (pull API)
    app.include_router(events_router)
    # issue 16: the billing page (its sessions for backends, the page for their members)
    app.include_router(portal_sessions_router)
    app.include_router(portal_page_router)
    app.include_router(portal_actions_router)
    app.include_router(portal_card_router)
    # issue 19: the codec server of the Temporal Web UI (encrypted payloads)
    include_codec(app, settings)
    app.add_exception_handler(
        TenureError, lambda _, error: error_response(error.code, error.message, error.details)
    )
    # issue 18: Idempotency-Key replays (it sees the 5xx answers it must not store), and outside
    # it no exception reaches a client as plain text
    app.add_middleware(
        Idempotency, ttl_s=settings.idempotency_key_ttl_s, max_body_bytes=settings.api_max_body_bytes
    )
    app.add_middleware(CatchAll)
    # issue 19: request id and workspace in every log line; a server span per request.
    app.add_middleware(RequestContext)
    instrument_app(app)
    # issue 19: Prometheus scrape (no auth: bind or firewall it, docs/operations.md) and request metrics
    app.router.routes.append(metrics_route())
    app.add_middleware(RequestMetrics)
    return app

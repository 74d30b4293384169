"""`POST /v1/stripe/webhook`: verify, store once, tell the invoice workflow, then acknowledge.

The signature is checked on the raw body (Stripe's v1 scheme, 5-minute tolerance). The
event id is the primary key of `stripe_events`. A 200 means the event is applied (its
workflow has the notice) or ignored (about nothing we collect); when Temporal does not take
the notice the answer is 503 ``temporarily_unavailable`` so Stripe retries, and the event
stays ``received`` (pending). A redelivery of an applied or ignored event is acknowledged as
a duplicate; one of a pending event is delivered again. What a crash between store and
signal leaves pending, `redrive_stripe_events` delivers (at start-up, then periodically),
even if Stripe never redelivers. The invoice workflow is only *told* that something
happened: it re-reads the invoice from Stripe, so events arriving out of order or twice
never decide a status by themselves.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from datetime import timedelta

import stripe
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.errors import error_body
from api.state import AppState
from contracts.errors import TEMPORARILY_UNAVAILABLE
from services.invoices import InvoiceService

router = APIRouter()
log = logging.getLogger("tenure.api.webhooks")

# Test-only: the process exits right after storing an event, before telling its workflow
# (tests/integration/test_stripe_events_crash.py kills the API at exactly that point).
EXIT_AFTER_STORE_ENV = "TENURE_TEST_EXIT_AFTER_STRIPE_STORE"


@functools.cache
def _exit_after_store() -> bool:
    return os.environ.get(EXIT_AFTER_STORE_ENV) == "1"


@router.post("/v1/stripe/webhook", summary="Stripe webhook receiver", include_in_schema=True)
async def stripe_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """Accept a signed Stripe event once; forged, stale or malformed ones get a 400, and
    503 when Temporal cannot take it now (Stripe retries)."""
    state: AppState = request.app.state.tenure
    secret = state.settings.stripe_webhook_secret
    if secret is None:
        body = error_body("webhooks_disabled", "STRIPE_WEBHOOK_SECRET is not configured")
        return JSONResponse(body, status_code=503)
    payload = await request.body()
    signature = request.headers.get("Stripe-Signature", "")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret.get_secret_value())
    except (ValueError, stripe.SignatureVerificationError) as error:
        return JSONResponse(error_body("invalid_signature", str(error)), status_code=400)
    received = await services.invoices.receive_stripe_event(event.id, event.type, json.loads(payload))
    if _exit_after_store():
        os._exit(70)
    if received.invoice is not None:
        # Before answering: a 200 promises the event is applied or has nothing to apply to.
        delivered = await services.invoices.deliver_stripe_event(event.id, event.type, received.invoice)
        if not delivered.acknowledged:  # Stripe retries a 5xx; the event is kept for that
            message = f"the event could not be handed to Temporal now: {delivered.error}"
            details = {"event": event.id, "status": delivered.status}
            return JSONResponse(error_body(TEMPORARILY_UNAVAILABLE, message, details), status_code=503)
    return JSONResponse({"received": True, "duplicate": received.duplicate})


async def redrive_stripe_events(invoices: InvoiceService, every_s: float) -> None:
    """Deliver pending events now (any age: what a previous process left), then every
    ``every_s`` those at least ``every_s`` old (younger ones may be in another request's
    hands). Runs until cancelled; a failure is logged and the next round tries again."""
    older_than = timedelta(0)
    while True:
        try:
            done = await invoices.redrive_stripe_events(older_than)
            if done.outcomes or done.pending:
                log.info("stripe events re-driven: %s, %d still pending", done.outcomes, done.pending)
        except Exception:  # the database may be down too: try again next round
            log.exception("re-driving pending stripe events failed")
        older_than = timedelta(seconds=every_s)
        await asyncio.sleep(every_s)

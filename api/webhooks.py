"""`POST /v1/stripe/webhook`: verify, store once, acknowledge, then tell the invoice workflow.

The signature is checked on the raw body (Stripe's v1 scheme, 5-minute tolerance). The
event id is the primary key of `stripe_events`, so a redelivery is acknowledged and nothing
else happens. The invoice workflow is only *told* that something happened: it re-reads the
invoice from Stripe, so events arriving out of order never decide a status by themselves.
"""

from __future__ import annotations

import json

import stripe
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.errors import error_body
from api.state import AppState

router = APIRouter()


@router.post("/v1/stripe/webhook", summary="Stripe webhook receiver", include_in_schema=True)
async def stripe_webhook(
    request: Request, background: BackgroundTasks, services: ServicesDep
) -> JSONResponse:
    """Accept a signed Stripe event once; forged, stale or malformed ones get a 400."""
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
    if received.duplicate:
        return JSONResponse({"received": True, "duplicate": True})
    if received.invoice is not None:
        # After the response: Stripe wants its answer fast, and the event is stored already.
        background.add_task(services.invoices.notify_stripe_event, event.id, event.type, received.invoice)
    return JSONResponse({"received": True, "duplicate": False})

"""`POST /v1/stripe/webhook`: verify, store once, acknowledge, then tell the invoice workflow.

The signature is checked on the raw body (Stripe's v1 scheme, 5-minute tolerance). The
event id is the primary key of `stripe_events`, so a redelivery is acknowledged and nothing
else happens. The invoice workflow is only *told* that something happened: it re-reads the
invoice from Stripe, so events arriving out of order never decide a status by themselves.
"""

from __future__ import annotations

import json
import logging

import stripe
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from temporalio.service import RPCError

from api.errors import error_body
from api.state import AppState
from db import invoice_repo
from db.engine import session_factory
from workflows.invoice import InvoiceWorkflow, StripeNotice, invoice_workflow_id

log = logging.getLogger("tenure.api.webhooks")
router = APIRouter()


@router.post("/v1/stripe/webhook", summary="Stripe webhook receiver", include_in_schema=True)
async def stripe_webhook(request: Request, background: BackgroundTasks) -> JSONResponse:
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
    document = json.loads(payload)
    sessions = session_factory(state.engine)
    async with sessions.begin() as session:
        fresh = await invoice_repo.insert_stripe_event(session, event.id, event.type, document)
    if not fresh:
        return JSONResponse({"received": True, "duplicate": True})
    number = _invoice_number(document)
    if number is not None:
        background.add_task(_notify, state, event.id, event.type, number)
    else:
        async with sessions.begin() as session:
            await invoice_repo.set_stripe_event_status(session, event.id, "ignored")
    return JSONResponse({"received": True, "duplicate": False})


def _invoice_number(document: dict[str, object]) -> str | None:
    """Our invoice number, from the invoice object's metadata (set when it was created)."""
    data = document.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or obj.get("object") != "invoice":
        return None
    metadata = obj.get("metadata")
    number = metadata.get("number") if isinstance(metadata, dict) else None
    return number if isinstance(number, str) else None


async def _notify(state: AppState, event_id: str, event_type: str, number: str) -> None:
    """Signal the invoice's workflow after the response; record what came of it."""
    status, error = "applied", None
    try:
        client = await state.temporal()
        handle = client.get_workflow_handle(invoice_workflow_id(number))
        await handle.signal(InvoiceWorkflow.stripe_notice, StripeNotice(event_id=event_id, type=event_type))
    except RPCError as failure:
        # No such workflow (an invoice we did not post, or already settled): keep the event.
        status, error = "ignored", str(failure)
        log.info("stripe event %s for invoice %s not delivered: %s", event_id, number, failure)
    async with session_factory(state.engine).begin() as session:
        await invoice_repo.set_stripe_event_status(session, event_id, status, error)

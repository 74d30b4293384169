"""The ``/_emulator`` control API (JSON, no auth) and the hosted invoice documents."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from devstack.stripe_emulator.documents import DocumentLine, InvoiceDocument, render_html, render_pdf
from devstack.stripe_emulator.faults import FaultSpecError, parse_fault
from devstack.stripe_emulator.pipeline import Emulator
from devstack.stripe_emulator.resources.invoices import invoice_lines, invoice_total
from devstack.stripe_emulator.resources.payment_methods import MAGIC_CARDS


def _emulator(request: Request) -> Emulator:
    emulator = request.app.state.emulator
    assert isinstance(emulator, Emulator)
    return emulator


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status)


async def _json_body(request: Request) -> object:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON body: {exc}") from None


async def health(request: Request) -> JSONResponse:
    """``GET /_emulator/health``."""
    emulator = _emulator(request)
    return JSONResponse({"status": "ok", "api_version": emulator.settings.api_version})


async def reset(request: Request) -> JSONResponse:
    """``POST /_emulator/reset``: forget every object, key, fault and webhook."""
    await _emulator(request).reset()
    return JSONResponse({"reset": True})


async def add_webhook(request: Request) -> JSONResponse:
    """``POST /_emulator/webhooks`` with ``{url, secret?, events?}``."""
    try:
        spec = await _json_body(request)
    except ValueError as exc:
        return _bad(str(exc))
    if not isinstance(spec, dict):
        return _bad("body must be a JSON object")
    url = spec.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        return _bad("url must be an http(s) URL")
    secret = spec.get("secret") or "whsec_" + secrets.token_hex(16)
    events = spec.get("events") or ["*"]
    if (
        not isinstance(secret, str)
        or not isinstance(events, list)
        or not all(isinstance(e, str) for e in events)
    ):
        return _bad("secret must be a string and events a list of strings")
    endpoint = _emulator(request).webhooks.add_endpoint(url, secret, [str(e) for e in events])
    return JSONResponse(endpoint.to_json())


async def list_webhooks(request: Request) -> JSONResponse:
    """``GET /_emulator/webhooks``."""
    endpoints = _emulator(request).webhooks.endpoints.values()
    return JSONResponse({"data": [e.to_json() for e in endpoints]})


async def delete_webhook(request: Request) -> JSONResponse:
    """``DELETE /_emulator/webhooks/{id}``."""
    endpoint_id = request.path_params["id"]
    if not _emulator(request).webhooks.remove_endpoint(endpoint_id):
        return _bad(f"no webhook endpoint {endpoint_id}", 404)
    return JSONResponse({"id": endpoint_id, "deleted": True})


async def list_deliveries(request: Request) -> JSONResponse:
    """``GET /_emulator/deliveries`` filtered by ``event_type``, ``endpoint_id``, ``status``."""
    filters = {k: request.query_params.get(k) for k in ("event_type", "endpoint_id", "status", "event_id")}
    rows = [
        d.to_json()
        for d in _emulator(request).webhooks.deliveries
        if all(v is None or getattr(d, k) == v for k, v in filters.items())
    ]
    return JSONResponse({"data": rows})


async def add_fault(request: Request) -> JSONResponse:
    """``POST /_emulator/faults`` with ``{mode, count, path_prefix?, method?, delay_s?, after?}``."""
    try:
        fault = parse_fault(await _json_body(request))
    except (ValueError, FaultSpecError) as exc:
        return _bad(str(exc))
    _emulator(request).faults.arm(fault)
    return JSONResponse(fault.to_json())


async def list_faults(request: Request) -> JSONResponse:
    """``GET /_emulator/faults``: faults still armed."""
    return JSONResponse({"data": [f.to_json() for f in _emulator(request).faults.armed()]})


async def clear_faults(request: Request) -> JSONResponse:
    """``DELETE /_emulator/faults``."""
    _emulator(request).faults.clear()
    return JSONResponse({"cleared": True})


async def expire_idempotency_keys(request: Request) -> JSONResponse:
    """``POST /_emulator/idempotency/expire`` with ``{prefix?}``: prune stored keys now, as
    Stripe does once they are 24 hours old (keys of requests in flight are kept)."""
    try:
        spec = await _json_body(request)
    except ValueError as exc:
        return _bad(str(exc))
    prefix = spec.get("prefix", "") if isinstance(spec, dict) else None
    if not isinstance(prefix, str):
        return _bad("body must be a JSON object whose prefix is a string")
    emulator = _emulator(request)
    async with emulator.state.lock:
        expired = emulator.idempotency.expire(prefix)
    return JSONResponse({"expired": expired})


async def card_behaves_as(request: Request) -> JSONResponse:
    """``POST /_emulator/payment_methods/{id}/behave_as`` with ``{card: "pm_card_..."}``: an
    attached card starts charging as that test card does (the funds ran out, it expired).
    Stripe's decline cards cannot be attached, so this is how a test reaches a customer
    whose default card declines with ``insufficient_funds`` or ``expired_card``."""
    try:
        spec = await _json_body(request)
    except ValueError as exc:
        return _bad(str(exc))
    name = spec.get("card") if isinstance(spec, dict) else None
    card = MAGIC_CARDS.get(name) if isinstance(name, str) else None
    if card is None:
        return _bad(f"card must be one of {', '.join(MAGIC_CARDS)}")
    emulator = _emulator(request)
    async with emulator.state.lock:
        pm = emulator.state.payment_methods.get(request.path_params["id"])
        if pm is None:
            return _bad(f"no payment method {request.path_params['id']}", 404)
        pm.card = replace(card, number_last4=pm.card.number_last4, decline_at_attach=False)
    return JSONResponse({"id": pm.id, "behaves_as": name})


async def stats(request: Request) -> JSONResponse:
    """``GET /_emulator/stats``: ``/v1`` requests seen and 429s of the rate limiter since the last reset."""
    return JSONResponse(_emulator(request).stats.to_json())


async def list_requests(request: Request) -> JSONResponse:
    """``GET /_emulator/requests``: recent ``/v1`` attempts, oldest first."""
    return JSONResponse({"data": list(_emulator(request).request_log)})


def _document(request: Request) -> InvoiceDocument | None:
    state = _emulator(request).state
    invoice = state.invoices.get(request.path_params["invoice"])
    # Like Stripe, documents exist only once the invoice is finalized.
    if invoice is None or invoice.deleted or invoice.number is None:
        return None
    customer = state.customers[invoice.customer]
    total = invoice_total(state, invoice)
    return InvoiceDocument(
        invoice_id=invoice.id,
        number=invoice.number,
        status=invoice.status,
        customer_name=customer.business_name or customer.name or customer.email or customer.id,
        currency=invoice.currency,
        lines=[
            DocumentLine(item.description or "", item.quantity, item.amount)
            for item in invoice_lines(state, invoice)
        ],
        total=total,
        amount_paid=invoice.amount_paid,
        amount_remaining=0 if invoice.status == "paid" else total - invoice.amount_paid,
    )


async def hosted_page(request: Request) -> Response:
    """``GET /hosted/invoices/{invoice}``: the hosted invoice page."""
    doc = _document(request)
    if doc is None:
        return HTMLResponse("<h1>Invoice not found</h1>", status_code=404)
    return HTMLResponse(render_html(doc))


async def hosted_pdf(request: Request) -> Response:
    """``GET /hosted/invoices/{invoice}/pdf``: the invoice PDF."""
    doc = _document(request)
    if doc is None:
        return Response(b"not found", status_code=404, media_type="text/plain")
    filename = f"{doc.number}.pdf"
    return Response(
        render_pdf(doc),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


ROUTES = [
    Route("/_emulator/health", health, methods=["GET"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/webhooks", add_webhook, methods=["POST"]),
    Route("/_emulator/webhooks", list_webhooks, methods=["GET"]),
    Route("/_emulator/webhooks/{id}", delete_webhook, methods=["DELETE"]),
    Route("/_emulator/deliveries", list_deliveries, methods=["GET"]),
    Route("/_emulator/faults", add_fault, methods=["POST"]),
    Route("/_emulator/faults", list_faults, methods=["GET"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/requests", list_requests, methods=["GET"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/idempotency/expire", expire_idempotency_keys, methods=["POST"]),
    Route("/_emulator/payment_methods/{id}/behave_as", card_behaves_as, methods=["POST"]),
    Route("/hosted/invoices/{invoice}", hosted_page, methods=["GET"]),
    Route("/hosted/invoices/{invoice}/pdf", hosted_pdf, methods=["GET"]),
]

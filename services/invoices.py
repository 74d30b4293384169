"""Invoices outside their workflow: a staff void (with its audit row) and the Stripe events the
webhook receives (stored once, then told to the invoice's collection).

The invoice workflow is only *told* that Stripe reported something: it re-reads the invoice
from Stripe, so events arriving out of order never decide a status by themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import JsonValue

from billing.errors import DomainError
from client import TenureError
from db import stripe_event_repo
from db.audit import write_audit
from db.invoice_models import InvoiceRow
from observability import metrics
from services.base import ClientSource, UnitOfWork

log = logging.getLogger("tenure.services.invoices")
INVOICE_NOT_OPEN = "invoice_not_open"


@dataclass(frozen=True)
class Voided:
    invoice: str
    status: str


@dataclass(frozen=True)
class Received:
    """What became of a webhook event: ``invoice`` is the collection to tell (None: nothing)."""

    duplicate: bool
    invoice: str | None = None


def invoice_number(document: dict[str, JsonValue]) -> str | None:
    """Our invoice number, from the invoice object's metadata (set when it was created)."""
    data = document.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict) or obj.get("object") != "invoice":
        return None
    metadata = obj.get("metadata")
    number = metadata.get("number") if isinstance(metadata, dict) else None
    return number if isinstance(number, str) else None


class InvoiceService:
    def __init__(self, uow: UnitOfWork, clients: ClientSource) -> None:
        self._uow = uow
        self._clients = clients

    async def void(self, number: str, actor: str, reason: str | None = None) -> Voided:
        """Void an invoice still being collected, audited under ``actor`` whatever it ended as.

        Raises:
            DomainError: ``invoice_not_open`` when no collection runs, or when the invoice was
                paid before the void arrived (``details.status``: the money was collected).
        """
        try:
            outcome = await (await self._clients()).void_invoice(number)
        except TenureError as refused:
            raise DomainError(refused.code, refused.message, refused.details) from None
        await self._audit_void(number, actor, outcome, reason)
        if outcome != "void":
            raise DomainError(
                INVOICE_NOT_OPEN, f"invoice {number} ended {outcome}, not void", {"status": outcome}
            )
        return Voided(invoice=number, status=outcome)

    async def _audit_void(self, number: str, actor: str, outcome: str, reason: str | None) -> None:
        # One row per invoice (request id ``void:{number}``), under the invoice's workspace.
        async with self._uow.write() as session:
            invoice = await session.get(InvoiceRow, number)
            if invoice is None:  # voided before it was ever persisted: nothing to attach it to
                return
            await write_audit(
                session,
                workspace_id=invoice.workspace_id,
                request_id=f"void:{number}",
                actor=actor,
                action="void_invoice",
                before=None,
                after={"invoice": number, "status": outcome},
                reason=reason,
            )

    async def receive_stripe_event(
        self, event_id: str, event_type: str, document: dict[str, JsonValue]
    ) -> Received:
        """Store a verified event once; a redelivery is a duplicate and nothing else happens.
        An event about none of our invoices is kept as ``ignored``."""
        async with self._uow.write() as session:
            fresh = await stripe_event_repo.insert_stripe_event(session, event_id, event_type, document)
        metrics.stripe_event_received(event_type, not fresh, document.get("created"))
        if not fresh:
            return Received(duplicate=True)
        number = invoice_number(document)
        if number is None:
            async with self._uow.write() as session:
                await stripe_event_repo.set_stripe_event_status(session, event_id, "ignored")
        return Received(duplicate=False, invoice=number)

    async def notify_stripe_event(self, event_id: str, event_type: str, number: str) -> None:
        """Tell invoice ``number``'s collection about the event; record what came of it."""
        status, error = "applied", None
        try:
            await (await self._clients()).notify_invoice(number, event_id, event_type)
        except TenureError as failure:
            # No such workflow (an invoice we did not post, or already settled): keep the event.
            status, error = "ignored", failure.message
            log.info("stripe event %s for invoice %s not delivered: %s", event_id, number, failure)
        async with self._uow.write() as session:
            await stripe_event_repo.set_stripe_event_status(session, event_id, status, error)
        metrics.STRIPE_EVENTS_APPLIED.labels(event_type, status).inc()

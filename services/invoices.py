"""Invoices outside their workflow: a staff void (with its audit row) and the Stripe events the
webhook receives (stored once, told to the invoice's collection before the webhook answers,
re-driven if that never happened).

The invoice workflow is only *told* that Stripe reported something: it re-reads the invoice
from Stripe, so events arriving out of order never decide a status by themselves, and a
notice told twice costs one more read of the invoice, nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from pydantic import JsonValue
from temporalio.service import RPCError, RPCStatusCode

from billing.errors import DomainError
from client import TenureError
from contracts.errors import TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS
from db import stripe_event_repo
from db.audit import write_audit
from db.invoice_models import InvoiceRow
from observability import metrics
from services.base import ClientSource, UnitOfWork

log = logging.getLogger("tenure.services.invoices")
INVOICE_NOT_OPEN = "invoice_not_open"
# How long a webhook waits for Temporal to take a notice before answering 503 (Stripe wants a
# quick answer; the client's RPC retries alone take ~10 s against a server that is down).
DELIVER_TIMEOUT_S = 5.0


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
    def __init__(
        self, uow: UnitOfWork, clients: ClientSource, deliver_timeout_s: float = DELIVER_TIMEOUT_S
    ) -> None:
        self._uow = uow
        self._clients = clients
        self._deliver_timeout_s = deliver_timeout_s

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
        """Store a verified event once. A redelivery of an event already applied or ignored is
        a duplicate and nothing else happens; one still pending (its first delivery crashed or
        found Temporal down) is to be delivered again. An event about none of our invoices is
        kept as ``ignored``."""
        number = invoice_number(document)
        status = stripe_event_repo.PENDING if number is not None else "ignored"
        async with self._uow.write() as session:
            fresh = await stripe_event_repo.insert_stripe_event(
                session, event_id, event_type, document, status
            )
            if not fresh:
                status = await stripe_event_repo.stripe_event_status(session, event_id) or status
        duplicate = not fresh and status in stripe_event_repo.SETTLED
        metrics.stripe_event_received(event_type, duplicate, document.get("created"))
        if duplicate or number is None:
            return Received(duplicate=duplicate)
        return Received(duplicate=False, invoice=number)

    async def deliver_stripe_event(self, event_id: str, event_type: str, number: str) -> Delivered:
        """Tell invoice ``number``'s collection about the event; record what came of it.

        Returns:
            The event's status: ``applied`` (the workflow has the notice), ``ignored`` (no
            collection of ``number`` runs: an invoice we did not post, or one already settled),
            ``received`` (Temporal did not answer in time: still pending, for a redelivery or
            the re-drive) or ``failed`` (Temporal refused the notice otherwise; a redelivery
            tries again, the re-drive leaves it to an operator), with the reason.
        """
        status, error = "applied", None
        try:
            client = await self._clients()
            async with asyncio.timeout(self._deliver_timeout_s):
                await client.notify_invoice(number, event_id, event_type)
        except TimeoutError:
            status, error = stripe_event_repo.PENDING, f"no answer within {self._deliver_timeout_s:g} s"
        except Exception as failure:  # classified below; anything unknown is kept pending
            status, error = _outcome(failure)
        if error is not None:
            log.info("stripe event %s for invoice %s not delivered (%s): %s", event_id, number, status, error)
        async with self._uow.write() as session:
            await stripe_event_repo.set_stripe_event_status(session, event_id, status, error)
        metrics.STRIPE_EVENTS_APPLIED.labels(event_type, status).inc()
        return Delivered(status, error)

    async def redrive_stripe_events(self, older_than: timedelta, limit: int = 100) -> Redriven:
        """Deliver the events stored but never delivered (a crash between store and signal, or
        Temporal down then), oldest first, so they are applied even if Stripe never redelivers.
        Stops at the first event Temporal does not answer for (it is down: the rest would wait
        too). A notice delivered twice is harmless: the workflow re-reads the invoice."""
        async with self._uow.read() as session:
            events = await stripe_event_repo.pending_stripe_events(session, older_than, limit)
        outcomes: dict[str, int] = {}
        for done, event in enumerate(events):
            number = invoice_number(event.payload)
            if number is None:  # cannot be stored so today; kept for rows of older code
                outcome = "ignored"
                async with self._uow.write() as session:
                    await stripe_event_repo.set_stripe_event_status(session, event.id, outcome)
            else:
                outcome = (await self.deliver_stripe_event(event.id, event.type, number)).status
            if outcome == stripe_event_repo.PENDING:
                return Redriven(outcomes, pending=len(events) - done)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return Redriven(outcomes, pending=0)


@dataclass(frozen=True)
class Delivered:
    """What became of one notice: the event's status and, when not delivered, why."""

    status: str
    error: str | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether Stripe may forget the event (a 2xx): applied, or nothing to apply it to."""
        return self.status in stripe_event_repo.SETTLED


@dataclass(frozen=True)
class Redriven:
    """What one re-drive did: events per outcome, and how many it left pending."""

    outcomes: dict[str, int]
    pending: int


# Temporal did not answer, or answered "not now": the re-drive sends the notice again later.
_TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)
_BUSY_CODES = frozenset({TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS})


def _outcome(failure: BaseException) -> tuple[str, str]:
    """The status a failed notice leaves its event in, and why.

    The client reports any RPC failure of the signal as ``invoice_not_open``; the RPC error
    it came from (its context) tells "no such workflow" (NOT_FOUND: ``ignored``) from
    "Temporal is down" (kept pending). A connection that cannot be opened, or a signal that
    does not return within the deadline, is Temporal down too.
    """
    message = str(failure) or type(failure).__name__
    if isinstance(failure, TenureError) and failure.code in _BUSY_CODES:
        return stripe_event_repo.PENDING, message
    rpc = failure if isinstance(failure, RPCError) else failure.__cause__ or failure.__context__
    if isinstance(rpc, RPCError):
        if rpc.status == RPCStatusCode.NOT_FOUND:
            return "ignored", message
        if rpc.status in _TRANSIENT:
            return stripe_event_repo.PENDING, message
        return "failed", message
    if isinstance(failure, TenureError):  # refused, not unreachable: nothing to deliver to
        return "ignored", message
    return stripe_event_repo.PENDING, message  # connect failed, deadline passed, anything else

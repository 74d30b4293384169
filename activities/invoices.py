"""Invoice activities (SPEC §3): record posted invoices, push them to Stripe, collect them.

`InvoiceActivities` is built in the worker with a session factory and a `PaymentGateway`.
Every activity is safe to run twice. Pushing is a sequence of Stripe writes (customer on
first use, invoice, one item per line, finalize), each with a key from business ids and each
followed by a committed write of the Stripe id, so a retried push continues where the previous
attempt stopped and Stripe replays (never repeats) a step whose answer was lost. Collection
skips the finalize and pays the draft (Stripe finalizes it in the pay request) and trusts a
recorded customer id: an invoice of a workspace with a card costs 2 + one per line requests.

Stripe forgets idempotency keys after 24 hours, so a retry later than that would repeat a
write whose answer was lost (a second invoice, a second item on the draft, charged at
finalize). A retried attempt (`_retried`) therefore reads before each write whose Stripe id
we have not recorded: the customer and the invoice by our ids in their metadata (search),
the items by position (the invoice's lines), the invoice's status before paying. A first
attempt reads nothing, so the usual push costs no extra request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.invoice_lines import line_values, publish_failure, publish_moves, stripe_item
from activities.payments import PaymentGateway, workspace_customer
from billing.invoicing.invoices import InvoiceStatus
from billing.invoicing.status import moved, reconciled
from contracts import activities as refs
from contracts.errors import CARD_DECLINED, INVOICE_NOT_FOUND, STRIPE_INVALID_REQUEST
from contracts.invoices import (
    CollectInvoice,
    CollectResult,
    InvoiceView,
    MarkInvoice,
    PersistInvoice,
    VoidInvoice,
)
from contracts.payments import NewStripeInvoice, StripeInvoice
from db import invoice_repo as repo
from db.invoice_models import InvoiceRow
from observability import metrics


def _view(row: InvoiceRow) -> InvoiceView:
    return InvoiceView(
        number=row.number,
        workspace_id=row.workspace_id,
        status=row.status,  # the table's CHECK keeps it an InvoiceStatus; pydantic validates
        total=row.total,
        currency=row.currency,
        stripe_invoice_id=row.stripe_invoice_id,
        hosted_invoice_url=row.hosted_invoice_url,
        invoice_pdf=row.invoice_pdf,
        attempt_count=row.attempt_count,
        last_error=row.last_error,
        paid_at=row.paid_at,
        voided_at=row.voided_at,
    )


def _activity_attempt() -> int:
    return activity.info().attempt if activity.in_activity() else 1


def _retried(request: CollectInvoice) -> bool:
    """Whether a push write of this collection may already have happened unseen: a retried
    activity attempt (the previous one may have lost Stripe's answer), or a later dunning
    attempt (its predecessor may have given up mid-push; reads happen only for the ids
    still missing, so a dunning retry of a pushed invoice reads nothing)."""
    return _activity_attempt() > 1 or request.attempt > 1


def _missing(number: str) -> ApplicationError:
    return ApplicationError(f"no invoice {number!r}", type=INVOICE_NOT_FOUND, non_retryable=True)


def _stripe_values(row: InvoiceRow, s: StripeInvoice, fallback_at: datetime | None = None) -> dict[str, Any]:
    """Columns after seeing Stripe's invoice ``s``: our status reconciled with Stripe's."""
    status: InvoiceStatus = reconciled(row.status, s.status)  # type: ignore[arg-type]
    values: dict[str, Any] = {
        "stripe_status": s.status,
        "status": status,
        "attempt_count": max(row.attempt_count, s.attempt_count),
        "hosted_invoice_url": s.hosted_invoice_url or row.hosted_invoice_url,
        "invoice_pdf": s.invoice_pdf or row.invoice_pdf,
    }
    if status == "paid" and row.paid_at is None:
        values["paid_at"] = s.paid_at or fallback_at
    if status == "void" and row.voided_at is None:
        values["voided_at"] = s.voided_at or fallback_at
    return values


class InvoiceActivities:
    """Invoice recording and collection (register this class's methods; Stripe ones on the
    rate-limited Stripe task queue)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], gateway: PaymentGateway) -> None:
        self._sessions = sessions
        self._gateway = gateway

    async def _row(self, session: AsyncSession, number: str) -> InvoiceRow:
        row = await repo.lock_invoice(session, number)
        if row is None:
            raise _missing(number)
        return row

    async def _apply(
        self, number: str, s: StripeInvoice, at: datetime | None = None, attempt: int = 0
    ) -> InvoiceView:
        async with self._sessions.begin() as session:
            row = await self._row(session, number)
            before = row.status
            values = _stripe_values(row, s, at)
            # Our attempts count those Stripe never saw too (no card on file yet).
            values["attempt_count"] = max(values["attempt_count"], attempt)
            await repo.update_invoice(session, number, values)
            await session.refresh(row)
            await publish_moves(session, row, before, at)
            metrics.invoice_moved(before, row.status)
            return _view(row)

    @activity.defn(name=refs.PERSIST_INVOICE.name)
    async def persist_invoice(self, request: PersistInvoice) -> InvoiceView:
        """Record a posted invoice and its lines once; a zero total is paid at once (no Stripe)."""
        draft = request.draft
        invoice = {
            "number": draft.number,
            "workspace_id": request.workspace_id,
            "issued_at": draft.issued_at,
            "period_start": draft.period_start,
            "period_end": draft.period_end,
            "currency": draft.currency.lower(),
            "total": draft.total,
            "status": "paid" if draft.total == 0 else "unpaid",
            "paid_at": draft.issued_at if draft.total == 0 else None,
        }
        lines = [
            {"invoice_number": draft.number, "position": i, **line_values(line)}
            for i, line in enumerate(draft.lines)
        ]
        async with self._sessions.begin() as session:
            await repo.insert_invoice(session, invoice, lines)
            row = await self._row(session, draft.number)
            await publish_moves(session, row, None, draft.issued_at)  # posted (and paid, a zero total)
            metrics.invoice_moved(None, row.status)
            return _view(row)

    async def push_invoice(self, number: str, reconcile: bool = False, finalize: bool = True) -> InvoiceView:
        """Create, fill and finalize the invoice in Stripe (each step once); returns the
        hosted page and PDF URLs. Paid-at-once (zero) and void invoices are not pushed.

        With ``reconcile`` each write whose id we lack first looks for what a lost answer
        created (see the module docstring). Without ``finalize`` a draft stays a draft (no
        URLs yet): `collect_invoice` pays it directly, which finalizes it in the same request."""
        async with self._sessions.begin() as session:
            row = await self._row(session, number)
            lines = await repo.invoice_lines(session, number)
        if row.status in ("paid", "void"):
            return _view(row)  # collected (or zero), or cancelled: nothing to push
        # The customer's details are pushed to Stripe when they are saved; a retried attempt
        # re-reads and re-syncs them, a first one trusts the recorded id (no request).
        customer = row.stripe_customer_id or await workspace_customer(
            self._sessions, self._gateway, row.workspace_id, reconcile, refresh=reconcile
        )
        invoice_id, stripe_status = row.stripe_invoice_id, row.stripe_status
        if invoice_id is None:
            found = await self._gateway.find_invoice(number) if reconcile else None
            if found is None:
                new = NewStripeInvoice(
                    number=number, workspace_id=row.workspace_id, customer_id=customer, currency=row.currency
                )
                found = await self._gateway.create_invoice(new)
            invoice_id, stripe_status = found.id, found.status
            async with self._sessions.begin() as session:
                values = {
                    "stripe_customer_id": customer,
                    "stripe_invoice_id": invoice_id,
                    "stripe_status": stripe_status,
                }
                await repo.update_invoice(session, number, values)
        missing = [line for line in lines if line.stripe_invoice_item_id is None]
        existing = await self._gateway.invoice_item_ids(number, invoice_id) if missing and reconcile else {}
        for line in missing:
            item_id = existing.get(line.position)
            if item_id is None:
                item = stripe_item(line, customer, invoice_id, row.currency)
                item_id = await self._gateway.add_invoice_item(item)
            async with self._sessions.begin() as session:
                await repo.set_line_item(session, number, line.position, item_id)
        if stripe_status in (None, "draft"):
            if not finalize:  # the caller pays the draft: Stripe finalizes it first
                async with self._sessions.begin() as session:
                    return _view(await self._row(session, number))
            return await self._apply(number, await self._finalize(number, invoice_id))
        if row.stripe_invoice_id is None:  # found finalized by the reconciliation: re-read it
            return await self._apply(number, await self._gateway.retrieve_invoice(invoice_id))
        return _view(row)

    async def _finalize(self, number: str, invoice_id: str) -> StripeInvoice:
        try:
            return await self._gateway.finalize_invoice(number, invoice_id)
        except ApplicationError as err:
            # Finalized by an attempt whose key Stripe has pruned (after 24 h): accept it.
            if err.type != STRIPE_INVALID_REQUEST:
                raise
            current = await self._gateway.retrieve_invoice(invoice_id)
            if current.status == "draft":
                raise
            return current

    @activity.defn(name=refs.COLLECT_INVOICE.name)
    async def collect_invoice(self, request: CollectInvoice) -> CollectResult:
        """Charge the invoice off-session (pushing it first if needed).

        A decline (or no card on file) is a ``declined`` result with its code, recorded as
        ``attempt_count``/``last_error``: the workflow schedules dunning on it.
        """
        number = request.number
        retried = _retried(request)
        # Not finalized here: Stripe finalizes a draft as the first step of paying it
        # (https://docs.stripe.com/api/invoices/finalize), one request fewer per invoice.
        pushed = await self.push_invoice(number, reconcile=retried, finalize=False)
        if pushed.status in ("paid", "void"):
            return CollectResult(number=number, outcome=pushed.status, attempt_count=pushed.attempt_count)
        assert pushed.stripe_invoice_id is not None
        if _activity_attempt() > 1:
            # The previous attempt may have been charged and lost the answer: look first.
            current = await self._gateway.retrieve_invoice(pushed.stripe_invoice_id)
            if current.status in ("paid", "void"):
                return self._result(await self._apply(number, current, request.at, request.attempt))
        try:
            paid = await self._gateway.pay_invoice(number, pushed.stripe_invoice_id, request.attempt)
        except ApplicationError as err:
            if err.type not in (CARD_DECLINED, STRIPE_INVALID_REQUEST):
                raise
            current = await self._gateway.retrieve_invoice(pushed.stripe_invoice_id)
            if current.status in ("paid", "void"):  # paid elsewhere, or voided: nothing to charge
                return self._result(await self._apply(number, current, request.at))
            return await self._declined(request, err, current)
        return self._result(await self._apply(number, paid, request.at, request.attempt))

    def _result(self, view: InvoiceView) -> CollectResult:
        outcome = "paid" if view.status == "paid" else "void" if view.status == "void" else "declined"
        metrics.PAYMENT_ATTEMPTS.labels(outcome).inc()
        return CollectResult(number=view.number, outcome=outcome, attempt_count=view.attempt_count)

    async def _declined(
        self, request: CollectInvoice, err: ApplicationError, current: StripeInvoice
    ) -> CollectResult:
        """Record a failed charge; ``current`` is Stripe's invoice read after it: open (a
        declined pay finalized the draft, so it has its hosted page now) or still a draft (no
        card to charge: Stripe checks for one before finalizing)."""
        detail = err.details[0] if err.details and isinstance(err.details[0], dict) else {}
        code = detail.get("decline_code") or detail.get("code") or err.type or "payment_failed"
        message = detail.get("message") or err.message
        async with self._sessions.begin() as session:
            row = await self._row(session, request.number)
            attempts = max(row.attempt_count, request.attempt)
            values = {
                "attempt_count": attempts,
                "last_error": f"{code}: {message}",
                "stripe_status": current.status,
                "hosted_invoice_url": current.hosted_invoice_url or row.hosted_invoice_url,
                "invoice_pdf": current.invoice_pdf or row.invoice_pdf,
            }
            await repo.update_invoice(session, request.number, values)
            await session.refresh(row)
            await publish_failure(session, row, attempts, request.at)
        metrics.PAYMENT_ATTEMPTS.labels("declined").inc()
        return CollectResult(
            number=request.number,
            outcome="declined",
            code=code,
            message=message,
            attempt_count=attempts,
            hosted_invoice_url=row.hosted_invoice_url,
        )

    @activity.defn(name=refs.REFRESH_INVOICE.name)
    async def refresh_invoice(self, number: str) -> InvoiceView:
        """Re-read the invoice from Stripe and reconcile our status with it (webhooks may
        arrive late or out of order; Stripe's current state settles it)."""
        async with self._sessions.begin() as session:
            row = await self._row(session, number)
        if row.stripe_invoice_id is None:
            return _view(row)
        return await self._apply(number, await self._gateway.retrieve_invoice(row.stripe_invoice_id))

    @activity.defn(name=refs.MARK_INVOICE.name)
    async def mark_invoice(self, request: MarkInvoice) -> InvoiceView:
        """Status bookkeeping (``overdue``, ``paid`` from a webhook fact, ``void``) at the
        workflow's instant; paid and void are final, so a late or repeated mark is a no-op."""
        async with self._sessions.begin() as session:
            row = await self._row(session, request.number)
            before = row.status
            status = moved(row.status, request.status)  # type: ignore[arg-type]
            if status != row.status:
                values: dict[str, Any] = {"status": status}
                if status in ("paid", "void"):
                    values["paid_at" if status == "paid" else "voided_at"] = request.at
                await repo.update_invoice(session, request.number, values)
                await session.refresh(row)
                await publish_moves(session, row, before, request.at)
                metrics.invoice_moved(before, row.status)
            return _view(row)

    @activity.defn(name=refs.VOID_INVOICE.name)
    async def void_invoice(self, request: VoidInvoice) -> InvoiceView:
        """Void the invoice here and in Stripe (a never-finalized draft is deleted there).
        An invoice Stripe reports paid stays paid: the money was collected."""
        async with self._sessions.begin() as session:
            row = await self._row(session, request.number)
        if row.status in ("paid", "void"):
            return _view(row)
        invoice_id = row.stripe_invoice_id
        if invoice_id is not None and not (row.stripe_status == "draft" and await self._drop_draft(row)):
            try:
                voided = await self._gateway.void_invoice(request.number, invoice_id)
            except ApplicationError as err:
                if err.type != STRIPE_INVALID_REQUEST:
                    raise
                voided = await self._gateway.retrieve_invoice(invoice_id)  # paid or void already?
                if voided.status not in ("paid", "void"):
                    raise
            return await self._apply(request.number, voided, request.at)
        return await self.mark_invoice(MarkInvoice(number=request.number, status="void", at=request.at))

    async def _drop_draft(self, row: InvoiceRow) -> bool:
        """Delete a draft in Stripe (Stripe cannot void one); False when it turns out to be
        finalized after all (an attempt whose answer was lost), so it must be voided."""
        assert row.stripe_invoice_id is not None
        try:
            await self._gateway.delete_draft_invoice(row.stripe_invoice_id)
        except ApplicationError as err:
            if err.type != STRIPE_INVALID_REQUEST:
                raise
            return False
        async with self._sessions.begin() as session:
            await repo.update_invoice(session, row.number, {"stripe_status": "deleted"})
        return True

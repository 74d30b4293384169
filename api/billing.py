"""Billing endpoints: invoices, billing details, the card (SetupIntent flow), tax ids.

Reads need a service token; changes also name the acting member (``X-Acting-User``), who
must be an active billing admin of the workspace (the catalog's ``roles.billing_admin``).

They act through the same code the worker runs (`BillingDetailsActivities`, called in
process: each step is idempotent and keyed by business ids). A new card also asks every
invoice still being collected to try again now (`InvoiceWorkflow.retry_now`).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from activities.payments import BillingDetailsActivities, PaymentProviderUnavailable
from api.auth import authenticated
from api.billing_models import (
    DISPLAY_STATUS,
    BillingDetailsIn,
    BillingDetailsOut,
    CardOut,
    CardSetupDone,
    CardSetupOut,
    InvoiceOut,
    TaxIdIn,
    TaxIdOut,
)
from api.headers import ActingUser, IdempotencyKey, request_id
from api.state import AppState
from contracts.billing_details import AddTaxId, BillingDetails, FinishCardSetup, RemoveTaxId, StartCardSetup
from db import invoice_repo as repo
from db.audit import JsonObject, write_audit
from db.engine import session_factory
from db.workspace_models import MemberRow
from workflows.invoice import InvoiceWorkflow, invoice_workflow_id

log = logging.getLogger("tenure.api.billing")


router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["billing"], dependencies=[Depends(authenticated)]
)


class WorkspaceContext:
    """One workspace's request context: the app's resources and, for changes, the actor.
    Built from a request by the dependencies below, or directly (the CLI's `show`)."""

    def __init__(self, state: AppState, workspace_id: str) -> None:
        self.state = state
        self.workspace_id = workspace_id
        self.sessions = session_factory(self.state.engine)
        self.actor: str | None = None  # set by `_billing_admin` for changes

    async def audit(self, action: str, before: JsonObject | None, after: JsonObject | None) -> None:
        """The change's audit row (after Stripe accepted it: a refusal changed nothing)."""
        assert self.actor is not None, "changes go through _billing_admin"
        async with self.sessions.begin() as session:
            await write_audit(
                session,
                workspace_id=self.workspace_id,
                request_id=uuid.uuid4().hex,
                actor=self.actor,
                action=action,
                before=before,
                after=after,
            )

    def details(self) -> BillingDetailsActivities:
        if self.state.gateway is None:
            raise HTTPException(503, "payments are not configured (STRIPE_API_KEY is not set)")
        return BillingDetailsActivities(self.sessions, self.state.gateway)


async def _workspace(request: Request, workspace_id: str) -> WorkspaceContext:
    context = WorkspaceContext(request.app.state.tenure, workspace_id)
    async with context.sessions() as session:
        if not await repo.workspace_exists(session, workspace_id):
            raise HTTPException(404, f"no workspace {workspace_id!r}")
    return context


Workspace = Annotated[WorkspaceContext, Depends(_workspace)]


async def _billing_admin(ws: Workspace, actor: ActingUser) -> WorkspaceContext:
    """Billing changes need the acting member to hold a billing admin role (SPEC §2)."""
    async with ws.sessions() as session:
        member = await session.get(MemberRow, (ws.workspace_id, actor))
    admin_roles = ws.state.catalog.roles.billing_admin
    if member is None or member.status != "active" or member.role not in admin_roles:
        raise HTTPException(403, f"{actor!r} is not an organization admin of {ws.workspace_id!r}")
    ws.actor = actor
    return ws


Admin = Annotated[WorkspaceContext, Depends(_billing_admin)]


class _TaxId(Protocol):
    @property
    def stripe_tax_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def country(self) -> str | None: ...


def _tax_out(t: _TaxId) -> TaxIdOut:
    return TaxIdOut(id=t.stripe_tax_id, type=t.type, value=t.value, country=t.country)


def _stripe_refusal(error: ApplicationError) -> HTTPException:
    detail = error.details[0] if error.details and isinstance(error.details[0], dict) else {}
    return HTTPException(400, f"{error.type}: {detail.get('message') or error.message}")


@contextlib.contextmanager
def _stripe_errors() -> Iterator[None]:
    """Stripe refusals are the caller's (400); Stripe being down is ours (503, try again)."""
    try:
        yield
    except PaymentProviderUnavailable as error:
        raise HTTPException(503, f"Stripe is unavailable, try again: {error}") from None
    except ApplicationError as error:
        raise _stripe_refusal(error) from None


@router.get("/invoices", summary="The workspace's invoices, newest first")
async def list_invoices(ws: Workspace) -> list[InvoiceOut]:
    async with ws.sessions() as session:
        rows = await repo.workspace_invoices(session, ws.workspace_id)
    return [
        InvoiceOut(
            number=r.number,
            issued_at=r.issued_at,
            period_start=r.period_start,
            period_end=r.period_end,
            total=r.total,
            currency=r.currency,
            status=DISPLAY_STATUS[r.status],
            attempt_count=r.attempt_count,
            pdf_url=r.invoice_pdf,
            hosted_url=r.hosted_invoice_url,
        )
        for r in rows
    ]


@router.get("/billing-details", summary="Billing contact, company, card and tax ids, with warnings")
async def get_billing_details(ws: Workspace) -> BillingDetailsOut:
    # A read: no lock and no write (the billing page must not queue behind an invoice push).
    async with ws.sessions() as session:
        profile = await repo.read_profile(session, ws.workspace_id)
        tax_rows = await repo.tax_ids(session, ws.workspace_id)
    card = None
    if profile.default_payment_method is not None:
        card = CardOut(
            brand=profile.card_brand,
            last4=profile.card_last4,
            exp_month=profile.card_exp_month,
            exp_year=profile.card_exp_year,
        )
    required = ws.state.catalog.tax.business_tax_id_required_countries
    warnings = []
    if profile.purchasing_as_business and profile.country in required and not tax_rows:
        warnings.append(f"a business purchasing from {profile.country} must add a tax ID")
    if card is None:
        warnings.append("no payment method: invoices cannot be collected")
    return BillingDetailsOut(
        workspace_id=ws.workspace_id,
        billing_email=profile.billing_email,
        company_name=profile.company_name,
        purchasing_as_business=profile.purchasing_as_business,
        country=profile.country,
        card=card,
        tax_ids=[_tax_out(t) for t in tax_rows],
        warnings=warnings,
    )


@router.put("/billing-details", summary="Set the billing contact and company")
async def put_billing_details(ws: Admin, body: BillingDetailsIn) -> BillingDetailsOut:
    details = BillingDetails(workspace_id=ws.workspace_id, **body.model_dump())
    before = await get_billing_details(ws)
    with _stripe_errors():
        await ws.details().save_billing_details(details)
    after = await get_billing_details(ws)
    await ws.audit("set_billing_details", _contact(before), _contact(after))
    return after


def _contact(details: BillingDetailsOut) -> JsonObject:
    return details.model_dump(
        mode="json", include={"billing_email", "company_name", "purchasing_as_business", "country"}
    )


@router.post("/payment-method/setup", summary="Start a card change (Stripe SetupIntent)")
async def start_card_setup(ws: Admin, idempotency_key: IdempotencyKey = None) -> CardSetupOut:
    # Without a key every call is a new SetupIntent (harmless: unconfirmed ones expire).
    setup_request = request_id(idempotency_key)
    with _stripe_errors():
        started = await ws.details().start_card_setup(
            StartCardSetup(workspace_id=ws.workspace_id, request_id=setup_request)
        )
    return CardSetupOut(setup_intent_id=started.setup_intent_id, client_secret=started.client_secret)


@router.post("/payment-method", summary="Finish a card change: the confirmed card becomes the default")
async def finish_card_setup(ws: Admin, body: CardSetupDone) -> CardOut:
    before = (await get_billing_details(ws)).card
    with _stripe_errors():
        card = await ws.details().finish_card_setup(
            FinishCardSetup(workspace_id=ws.workspace_id, setup_intent_id=body.setup_intent_id)
        )
    out = CardOut(brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)
    await ws.audit("set_payment_method", _json(before), _json(out))
    await _retry_open_invoices(ws)
    return out


def _json(card: CardOut | None) -> JsonObject | None:
    return None if card is None else card.model_dump(mode="json")


async def _retry_open_invoices(ws: WorkspaceContext) -> None:
    """A new card during dunning: every unpaid or overdue invoice is tried again at once."""
    async with ws.sessions() as session:
        rows = await repo.workspace_invoices(session, ws.workspace_id)
    client = await ws.state.temporal()
    for row in rows:
        if row.status in ("unpaid", "overdue"):
            handle = client.get_workflow_handle(invoice_workflow_id(row.number))
            try:
                await handle.signal(InvoiceWorkflow.retry_now)
            except RPCError as error:  # already settled: nothing to retry
                log.info("invoice %s not retried: %s", row.number, error)


@router.get("/tax-ids", summary="Tax ids (read from Stripe, mirrored)")
async def list_tax_ids(ws: Workspace) -> list[TaxIdOut]:
    with _stripe_errors():
        found = await ws.details().list_tax_ids(ws.workspace_id)
    return [_tax_out(t) for t in found]


@router.post("/tax-ids", summary="Add a tax id", status_code=201)
async def add_tax_id(ws: Admin, body: TaxIdIn, idempotency_key: IdempotencyKey = None) -> TaxIdOut:
    # Without a key, the same tax id added twice is one Stripe write.
    tax_request = idempotency_key or f"{body.type}:{body.value}"
    with _stripe_errors():
        t = await ws.details().add_tax_id(
            AddTaxId(workspace_id=ws.workspace_id, request_id=tax_request, type=body.type, value=body.value)
        )
    out = _tax_out(t)
    await ws.audit("add_tax_id", None, out.model_dump(mode="json"))
    return out


@router.delete("/tax-ids/{tax_id}", summary="Remove a tax id", status_code=204)
async def remove_tax_id(
    ws: Admin, tax_id: Annotated[str, Path(pattern=r"^txi_[A-Za-z0-9]{1,64}$", examples=["txi_123"])]
) -> None:
    with _stripe_errors():
        await ws.details().remove_tax_id(RemoveTaxId(workspace_id=ws.workspace_id, stripe_tax_id=tax_id))
    await ws.audit("remove_tax_id", {"id": tax_id}, None)

"""Billing details, the card and tax ids of a workspace (SPEC §3), and the invoice list.

Reads need only the workspace; changes need the acting member to be a billing admin
(`billing.authorization`), are made at Stripe first (a refusal changes nothing) and are
audited right after Stripe accepted them. A new card asks every invoice still being
collected to try again now.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from activities.payments import PaymentGateway
from billing.authorization import require_billing_admin
from billing.catalog import Catalog
from db import invoice_repo, profile_repo
from db.audit import JsonObject, write_audit
from db.workspace_models import MemberRow
from services.base import ClientSource, UnitOfWork
from services.billing_models import (
    DISPLAY_STATUS,
    BillingDetailsIn,
    BillingDetailsOut,
    CardOut,
    CardSetupOut,
    InvoiceOut,
    TaxIdOut,
)
from services.errors import PAYMENTS_UNAVAILABLE, Unavailable, payment_errors
from services.payment_details import PaymentDetails
from services.payment_messages import AddTaxId, BillingDetails, FinishCardSetup, RemoveTaxId, StartCardSetup

log = logging.getLogger("tenure.services.billing_details")
COLLECTING = ("unpaid", "overdue")


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


def _card_json(card: CardOut | None) -> JsonObject | None:
    return None if card is None else card.model_dump(mode="json")


def _contact(details: BillingDetailsOut) -> JsonObject:
    return details.model_dump(
        mode="json", include={"billing_email", "company_name", "purchasing_as_business", "country"}
    )


class BillingDetailsService:
    """One deployment's billing details (its catalog says who administers and which countries
    require a business tax id)."""

    def __init__(
        self, uow: UnitOfWork, clients: ClientSource, gateway: PaymentGateway | None, catalog: Catalog
    ) -> None:
        self._uow = uow
        self._clients = clients
        self._gateway = gateway
        self._catalog = catalog

    # --- reads ---------------------------------------------------------------------------

    async def invoices(self, workspace_id: str) -> list[InvoiceOut]:
        """The workspace's invoices, newest first."""
        await self._uow.require_workspace(workspace_id)
        return await self._invoices(workspace_id)

    async def _invoices(self, workspace_id: str) -> list[InvoiceOut]:
        async with self._uow.read() as session:
            rows = await invoice_repo.workspace_invoices(session, workspace_id)
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

    async def details(self, workspace_id: str) -> BillingDetailsOut:
        """Contact, company, card and tax ids as mirrored, with what is missing to be billed."""
        await self._uow.require_workspace(workspace_id)
        return await self._details(workspace_id)

    async def _details(self, workspace_id: str) -> BillingDetailsOut:
        # A read: no lock and no write (the billing page must not queue behind an invoice push).
        async with self._uow.read() as session:
            profile = await profile_repo.read_profile(session, workspace_id)
            tax_rows = await profile_repo.tax_ids(session, workspace_id)
        card = None
        if profile.default_payment_method is not None:
            card = CardOut(
                brand=profile.card_brand,
                last4=profile.card_last4,
                exp_month=profile.card_exp_month,
                exp_year=profile.card_exp_year,
            )
        required = self._catalog.tax.business_tax_id_required_countries
        warnings = []
        if profile.purchasing_as_business and profile.country in required and not tax_rows:
            warnings.append(f"a business purchasing from {profile.country} must add a tax ID")
        if card is None:
            warnings.append("no payment method: invoices cannot be collected")
        return BillingDetailsOut(
            workspace_id=workspace_id,
            billing_email=profile.billing_email,
            company_name=profile.company_name,
            purchasing_as_business=profile.purchasing_as_business,
            country=profile.country,
            card=card,
            tax_ids=[_tax_out(t) for t in tax_rows],
            warnings=warnings,
        )

    async def list_tax_ids(self, workspace_id: str) -> list[TaxIdOut]:
        """Stripe's tax ids of the workspace (the mirror is refreshed from them)."""
        await self._uow.require_workspace(workspace_id)
        with payment_errors():
            found = await self._stripe().list_tax_ids(workspace_id)
        return [_tax_out(t) for t in found]

    # --- changes (a billing admin acts) ----------------------------------------------------

    async def authorize(self, workspace_id: str, actor: str) -> None:
        """Refuse unless the workspace exists and ``actor`` administers its billing (SPEC §2).

        Raises:
            DomainError: ``not_found``, or ``forbidden``.
        """
        await self._uow.require_workspace(workspace_id)
        async with self._uow.read() as session:
            member = await session.get(MemberRow, (workspace_id, actor))
        require_billing_admin(
            member.status if member else None,
            member.role if member else None,
            self._catalog.roles.billing_admin,
            f"{actor!r} is not an organization admin of {workspace_id!r}",
        )

    async def save_contact(self, workspace_id: str, actor: str, body: BillingDetailsIn) -> BillingDetailsOut:
        """Set the billing contact and company (Stripe's customer follows)."""
        await self.authorize(workspace_id, actor)
        before = await self._details(workspace_id)
        details = BillingDetails(workspace_id=workspace_id, **body.model_dump())
        with payment_errors():
            await self._stripe().save_billing_details(details)
        after = await self._details(workspace_id)
        await self._audit(workspace_id, actor, "set_billing_details", _contact(before), _contact(after))
        return after

    async def start_card_setup(self, workspace_id: str, actor: str, request_id: str) -> CardSetupOut:
        """A SetupIntent for the browser to confirm (one per ``request_id``)."""
        await self.authorize(workspace_id, actor)
        with payment_errors():
            started = await self._stripe().start_card_setup(
                StartCardSetup(workspace_id=workspace_id, request_id=request_id)
            )
        return CardSetupOut(setup_intent_id=started.setup_intent_id, client_secret=started.client_secret)

    async def finish_card_setup(self, workspace_id: str, actor: str, setup_intent_id: str) -> CardOut:
        """The confirmed card becomes the default; open invoices are tried again at once."""
        await self.authorize(workspace_id, actor)
        before = (await self._details(workspace_id)).card
        with payment_errors():
            card = await self._stripe().finish_card_setup(
                FinishCardSetup(workspace_id=workspace_id, setup_intent_id=setup_intent_id)
            )
        out = CardOut(brand=card.brand, last4=card.last4, exp_month=card.exp_month, exp_year=card.exp_year)
        await self._audit(workspace_id, actor, "set_payment_method", _card_json(before), _card_json(out))
        await self.retry_open_invoices(workspace_id)
        return out

    async def add_tax_id(
        self, workspace_id: str, actor: str, tax_type: str, value: str, request_id: str
    ) -> TaxIdOut:
        """Add a tax id at Stripe and mirror it (one Stripe write per ``request_id``)."""
        await self.authorize(workspace_id, actor)
        request = AddTaxId(workspace_id=workspace_id, request_id=request_id, type=tax_type, value=value)
        with payment_errors():
            out = _tax_out(await self._stripe().add_tax_id(request))
        await self._audit(workspace_id, actor, "add_tax_id", None, out.model_dump(mode="json"))
        return out

    async def remove_tax_id(self, workspace_id: str, actor: str, tax_id: str) -> None:
        """Delete a tax id at Stripe and from the mirror (an unknown one counts as deleted)."""
        await self.authorize(workspace_id, actor)
        with payment_errors():
            await self._stripe().remove_tax_id(RemoveTaxId(workspace_id=workspace_id, stripe_tax_id=tax_id))
        await self._audit(workspace_id, actor, "remove_tax_id", {"id": tax_id}, None)

    async def retry_open_invoices(self, workspace_id: str) -> None:
        """A new card during dunning: every unpaid or overdue invoice is tried again at once."""
        async with self._uow.read() as session:
            rows = await invoice_repo.workspace_invoices(session, workspace_id)
        client = await self._clients()
        for row in rows:
            if row.status in COLLECTING and not await client.retry_invoice(row.number):
                log.info("invoice %s not retried: already settled", row.number)

    def _stripe(self) -> PaymentDetails:
        if self._gateway is None:
            raise Unavailable(PAYMENTS_UNAVAILABLE, "payments are not configured (STRIPE_API_KEY is not set)")
        return PaymentDetails(self._uow.sessions, self._gateway)

    async def _audit(
        self, workspace_id: str, actor: str, action: str, before: JsonObject | None, after: JsonObject | None
    ) -> None:
        # After Stripe accepted the change: a refusal changed nothing and leaves no row.
        async with self._uow.write() as session:
            await write_audit(
                session,
                workspace_id=workspace_id,
                request_id=uuid.uuid4().hex,
                actor=actor,
                action=action,
                before=before,
                after=after,
            )

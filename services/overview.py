"""The billing page in one answer (SPEC §5): what the subscription knows comes from its
workflow (through `TenureClient.overview`); what only the database knows (invoices with their
Stripe documents, card, tax ids) is added here, and usage as of the last daily roll-up, over
the allowance's window (a contract's dates, else the period).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from temporalio.service import RPCError

from billing.allowance import UsageCards, usage_cards
from billing.catalog import Catalog
from billing.errors import DomainError
from billing.overview import Overview, email_warning
from billing.retention import free_limit_warnings
from client import TenureError
from db import outbox_repo, workspace_repo
from services.base import ClientSource, Clock, UnitOfWork
from services.billing_details import BillingDetailsService
from services.billing_models import BillingDetailsOut, InvoiceOut
from services.errors import ENGINE_UNAVAILABLE, Unavailable
from services.usage_overview import UsageOut, usage_section

RECENT_INVOICES = 12


class OverviewOut(BaseModel):
    """The subscription's view, the recent invoices with their documents, billing details, and
    usage as of the last daily roll-up."""

    subscription: Overview
    usage: UsageOut
    usage_cards: UsageCards | None = None
    invoices: list[InvoiceOut]
    billing: BillingDetailsOut
    warnings: list[str]


class OverviewService:
    def __init__(
        self,
        uow: UnitOfWork,
        clients: ClientSource,
        billing: BillingDetailsService,
        catalog: Catalog,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._clients = clients
        self._billing = billing
        self._catalog = catalog
        self._clock = clock

    async def overview(
        self, workspace_id: str, usage_days: bool = False, invoice_limit: int | None = RECENT_INVOICES
    ) -> OverviewOut:
        """The whole billing page of ``workspace_id`` (``invoice_limit`` newest invoices; None:
        all of them, as the billing page lists them).

        Raises:
            DomainError: ``not_found`` (no workspace, or no subscription), or `Unavailable`
                when the subscription cannot be read now.
        """
        await self._uow.require_workspace(workspace_id)
        # The workflow query and the database reads that do not depend on it run together.
        subscription, billing, invoices = await asyncio.gather(
            self._subscription(workspace_id),
            self._billing.details(workspace_id),
            self._billing.invoices(workspace_id),
        )
        allowance = subscription.allowance
        start, end = (
            (allowance.window_start, allowance.window_end)
            if allowance
            else (subscription.period_start, subscription.period_end)
        )
        usage = await usage_section(self._uow.sessions, workspace_id, start, end, self._clock(), usage_days)
        cards = (
            usage_cards(allowance, usage.credits, usage.serverless_minutes, usage.as_of)
            if allowance
            else None
        )
        projected = (
            [c.warning for c in (cards.credits, cards.serverless_minutes) if c.warning] if cards else []
        )
        limits = await self._data_limit_warnings(workspace_id, subscription)
        emails = await email_warnings(self._uow, workspace_id)
        return OverviewOut(
            subscription=subscription,
            usage=usage,
            usage_cards=cards,
            invoices=invoices[:invoice_limit],
            billing=billing,
            warnings=[*subscription.warnings, *limits, *billing.warnings, *projected, *emails],
        )

    async def _subscription(self, workspace_id: str) -> Overview:
        try:
            return await (await self._clients()).overview(workspace_id)
        except TenureError as missing:
            raise DomainError(missing.code, missing.message, missing.details) from None
        except RPCError as error:
            raise Unavailable(
                ENGINE_UNAVAILABLE, f"the subscription cannot be read now: {error.message}"
            ) from None

    async def _data_limit_warnings(self, workspace_id: str, subscription: Overview) -> list[str]:
        """The free-plan limits on the product's data (connectors, spaces) a free workspace
        exceeds; the subscription's own overview already names the members limit."""
        if subscription.status != "free":
            return []
        async with self._uow.read() as session:
            connectors, spaces = await workspace_repo.data_counts(session, workspace_id)
        return free_limit_warnings(self._catalog.free_limits(), connectors=connectors, spaces=spaces)


async def email_warnings(uow: UnitOfWork, workspace_id: str) -> list[str]:
    """The workspace's e-mails the relay could not deliver (refused, or nobody to write to),
    newest first (`db.outbox_repo.refused`)."""
    async with uow.read() as session:
        rows = await outbox_repo.refused(session, workspace_id)
    return [
        email_warning(r.template, r.recipients or [], r.last_error or "", r.sent_at is not None) for r in rows
    ]

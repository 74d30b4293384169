"""One `Services` per process, built by its composition root (the API's lifespan, the CLI,
`tenure simulate`) from the resources it owns."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.payments import PaymentGateway
from activities.stripe_gateway import gateway_for
from billing.catalog import Catalog
from config.settings import Settings
from db.engine import session_factory
from services.base import ClientSource, Clock, UnitOfWork, utc_now
from services.billing_details import BillingDetailsService
from services.entities import EntityService
from services.events import EventService
from services.invoices import InvoiceService
from services.overview import OverviewService
from services.support import SupportService
from services.usage import UsageService
from services.workspaces import WorkspaceService


@dataclass(frozen=True)
class Services:
    """Every operation the edges offer, grouped as the product speaks of them."""

    workspaces: WorkspaceService
    entities: EntityService
    billing: BillingDetailsService
    invoices: InvoiceService
    usage: UsageService
    overview: OverviewService
    support: SupportService
    # issue 15: the outbound event log (pull API)
    events: EventService


def build_services(
    engine: AsyncEngine,
    clients: ClientSource,
    gateway: PaymentGateway | None,
    catalog: Catalog,
    clock: Clock = utc_now,
) -> Services:
    """The services over ``engine``; ``gateway`` None: payments are not configured."""
    uow = UnitOfWork(session_factory(engine))
    billing = BillingDetailsService(uow, clients, gateway, catalog)
    return Services(
        workspaces=WorkspaceService(uow, clients, catalog, clock),
        entities=EntityService(uow, catalog),
        billing=billing,
        invoices=InvoiceService(uow, clients),
        usage=UsageService(uow, catalog),
        overview=OverviewService(uow, clients, billing, catalog, clock),
        support=SupportService(uow),
        # issue 15: the outbound event log (pull API)
        events=EventService(uow),
    )


def services_for(
    settings: Settings, engine: AsyncEngine, clients: ClientSource, catalog: Catalog
) -> Services:
    """The services of a deployment: its Stripe adapter when a key is set."""
    return build_services(engine, clients, gateway_for(settings), catalog)

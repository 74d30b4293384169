"""One `Services` per process, built by its composition root (the API's lifespan, the CLI,
`tenure simulate`) from the resources it owns."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.payments import PaymentGateway
from activities.stripe_gateway import gateway_for
from billing.catalog import Catalog
from config.settings import Settings
from contracts.webhooks import DeliveryPolicy
from db.engine import session_factory
from db.entitlement_checks import CheckReader
from services.base import ClientSource, Clock, UnitOfWork, utc_now
from services.billing_details import BillingDetailsService
from services.entities import EntityService
from services.entitlements import EntitlementService
from services.events import EventService
from services.invoices import DELIVER_TIMEOUT_S, InvoiceService
from services.overview import OverviewService
from services.portal import PortalService
from services.portal_tokens import SessionSigner
from services.support import SupportService
from services.usage import UsageService
from services.webhooks import WebhookService
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
    webhooks: WebhookService
    entitlements: EntitlementService
    # issue 15: the outbound event log (pull API)
    events: EventService
    # issue 16: the billing page's sessions
    portal: PortalService


def build_services(
    engine: AsyncEngine,
    clients: ClientSource,
    gateway: PaymentGateway | None,
    catalog: Catalog,
    clock: Clock = utc_now,
    webhook_policy: DeliveryPolicy | None = None,
    portal_signer: SessionSigner | None = None,
    stripe_deliver_timeout_s: float = DELIVER_TIMEOUT_S,
) -> Services:
    """The services over ``engine``; ``gateway`` None: payments are not configured;
    ``portal_signer`` None: the billing page is off."""
    uow = UnitOfWork(session_factory(engine))
    billing = BillingDetailsService(uow, clients, gateway, catalog)
    entities = EntityService(uow, catalog)
    return Services(
        workspaces=WorkspaceService(uow, clients, catalog, clock),
        entities=entities,
        billing=billing,
        invoices=InvoiceService(uow, clients, stripe_deliver_timeout_s),
        usage=UsageService(uow, catalog),
        overview=OverviewService(uow, clients, billing, catalog, clock),
        support=SupportService(uow),
        webhooks=WebhookService(uow, clients, webhook_policy or DeliveryPolicy()),
        entitlements=EntitlementService(uow, CheckReader(engine), catalog, clock),
        # issue 15: the outbound event log (pull API)
        events=EventService(uow),
        portal=PortalService(uow, entities, catalog, clock, portal_signer),
    )


def services_for(
    settings: Settings, engine: AsyncEngine, clients: ClientSource, catalog: Catalog
) -> Services:
    """The services of a deployment: its Stripe adapter when a key is set."""
    return build_services(
        engine,
        clients,
        gateway_for(settings),
        catalog,
        webhook_policy=delivery_policy(settings),
        portal_signer=portal_signer(settings),
        stripe_deliver_timeout_s=settings.stripe_webhook_deliver_timeout_s,
    )


def portal_signer(settings: Settings) -> SessionSigner | None:
    """The billing page's cookie signer, when the deployment has a portal secret."""
    secret = settings.portal_secret
    return None if secret is None else SessionSigner(secret.get_secret_value().encode())


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """How the deployment delivers webhooks (each endpoint keeps the policy it started with)."""
    return DeliveryPolicy(
        rate_per_second=settings.webhook_rate_per_second,
        horizon_s=settings.webhook_retry_horizon_s,
        initial_backoff_s=settings.webhook_initial_backoff_s,
        max_backoff_s=settings.webhook_max_backoff_s,
        poll_interval_s=settings.webhook_poll_interval_s,
        request_timeout_s=settings.webhook_request_timeout_s,
    )

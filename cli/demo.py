"""`tenure dev --demo`: a demo workspace on the running stack, seeded as a SaaS backend would.

Everything goes through the services and the client the HTTP API calls (registration, the
card's SetupIntent confirmed the way Stripe.js confirms it, seat commands as Updates, a usage
batch, a portal link): no row is written by hand, so the page shows what the engine made.
Each step looks first and does only what is missing, so a second run reuses the workspace
and only prints a fresh link.

Time cannot be moved on the dev server (its timers run on the wall clock), so the demo's
subscription cannot live through periods. What its first day posts is what it shows: each
seat is charged at once on its own invoice, because the demo subscription runs the
deployment's catalog without the draft window (``invoice_draft_minutes = 0``; with the
window the checkout invoice would post an hour later). With the emulator, one seat is
bought while the card declines (its ``behave_as`` control, as if the funds ran out), so one
invoice is Unpaid; the card then pays again and Stripe's retry (or a new card on the page)
collects it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import stripe
from pydantic import JsonValue
from temporalio.service import RPCError

from billing.catalog import Catalog, load_catalog
from billing.errors import DomainError
from billing.state import seats_held
from billing.workspace import Member
from cli.errors import FAILED, REJECTED, UNAVAILABLE, USAGE, CliError
from client import TenureClient, TenureError
from config.settings import Settings, environment_variables
from contracts.workspace import WorkspaceSetup
from db.engine import async_engine, required_url
from services import Services, services_for
from services.portal import PortalLink
from worker.schedules import trigger_rollup

WORKSPACE = "demo"
ADMIN = "ada"
MEMBERS = {
    "ada": "admin",
    "ben": "member",
    "cleo": "member",
    "dan": "member",
    "eve": "member",
    "finn": "member",
}
# (member, seat type, cycle): Pro and Max, monthly and annual; finn is left to assign.
SEATS = (
    ("ada", "max", "annual"),
    ("ben", "pro", "monthly"),
    ("cleo", "pro", "annual"),
    ("dan", "max", "monthly"),
)
DECLINED_SEAT = ("eve", "pro", "monthly")  # bought while the card declines: the Unpaid invoice
TEST_CARD = "pm_card_visa"
DECLINING_CARD = "pm_card_chargeCustomerFail"
COLLECT_TIMEOUT_S = 90.0
T = TypeVar("T")


@dataclass(frozen=True)
class DemoWorkspace:
    """What `tenure dev` prints once the demo is seeded."""

    workspace_id: str
    admin: str
    link: PortalLink


def require_seats_catalog(catalog: Catalog) -> None:
    """Refuse a deployment whose catalog is not per seat (checked before the stack starts).

    Raises:
        CliError: the catalog has no seat plan.
    """
    if catalog.seat_plan is None:
        raise CliError(
            "--demo seeds a per-seat workspace: TENURE_CATALOG must be a seats catalog "
            f"(it is {catalog.name!r})",
            USAGE,
        )


def stack_settings(env: Mapping[str, str]) -> Settings:
    """The settings of a process run with ``env`` (what `tenure dev` gives its children)."""
    values = {name: env[var] for name, var in environment_variables().items() if var in env}
    return Settings(**values)  # type: ignore[arg-type]


def demo_catalog(settings: Settings) -> Catalog:
    """The deployment's catalog, its invoices posted at once (see the module's docstring)."""
    catalog = load_catalog(settings.catalog)
    require_seats_catalog(catalog)
    return catalog.model_copy(update={"invoice_draft_minutes": 0})


def _setup(now: datetime) -> WorkspaceSetup:
    granted = now - timedelta(days=30)
    members = [
        Member(user_id=u, role=r, role_granted_at=granted, email=f"{u}@acme.test") for u, r in MEMBERS.items()
    ]
    return WorkspaceSetup(
        workspace_id=WORKSPACE, billing_contact_email="billing@acme.test", members=members, spaces=2
    )


def _base_url(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url
    host = "127.0.0.1" if settings.api_host in ("0.0.0.0", "::") else settings.api_host
    return f"http://{host}:{settings.api_port}"


@dataclass
class Seeder:
    """One run of the demo's steps against the stack (each step idempotent)."""

    services: Services
    client: TenureClient
    browser: stripe.StripeClient  # plays Stripe.js: confirms the SetupIntent with a test card
    emulator_url: str | None

    async def workspace(self) -> None:
        await self.services.workspaces.register(_setup(datetime.now(UTC)))

    async def card(self) -> str | None:
        """A card on file through the SetupIntent flow; its payment method when added now."""
        if (await self.services.billing.details(WORKSPACE)).card is not None:
            return None
        started = await self.services.billing.start_card_setup(WORKSPACE, ADMIN, uuid.uuid4().hex)
        intent = await self.browser.v1.setup_intents.confirm_async(
            started.setup_intent_id, {"payment_method": TEST_CARD}
        )
        await self.services.billing.finish_card_setup(WORKSPACE, ADMIN, started.setup_intent_id)
        method = intent.payment_method
        return method if isinstance(method, str) or method is None else method.id

    async def seat(self, user: str, seat_type: str, cycle: str) -> bool:
        """Assign ``user``'s seat unless they hold one; whether it was assigned now."""
        if user in seats_held(await self.client.state(WORKSPACE)):
            return False
        await self.client.assign_seat(WORKSPACE, user=user, seat_type=seat_type, cycle=cycle, actor=ADMIN)
        return True

    async def declined_seat(self, payment_method: str | None) -> None:
        """The last seat, charged while the card declines (only with the emulator)."""
        user, seat_type, cycle = DECLINED_SEAT
        if self.emulator_url is None or payment_method is None:
            await self.seat(user, seat_type, cycle)
            return
        if user in seats_held(await self.client.state(WORKSPACE)):
            return
        await self._behave_as(payment_method, DECLINING_CARD)
        try:
            await self.seat(user, seat_type, cycle)
            await self.collected()
        finally:
            await self._behave_as(payment_method, TEST_CARD)

    async def _behave_as(self, payment_method: str, card: str) -> None:
        async with httpx.AsyncClient(base_url=str(self.emulator_url), timeout=10) as emulator:
            answer = await emulator.post(
                f"/_emulator/payment_methods/{payment_method}/behave_as", json={"card": card}
            )
        if answer.status_code != 200:
            raise CliError(f"--demo: the Stripe emulator refused to switch the card: {answer.text}", FAILED)

    async def usage(self) -> None:
        """A day's runs (fixed event ids: a second run's batch is all duplicates)."""
        now = datetime.now(UTC)
        runs: list[dict[str, JsonValue]] = [
            {
                "id": f"demo-run-{i}",
                "kind": "asset_materialization",
                "at": (now - timedelta(minutes=i)).isoformat(),
                "partitions": 20 * i,
            }
            for i in range(1, 13)
        ]
        minutes: list[dict[str, JsonValue]] = [
            {"id": "demo-minutes", "kind": "serverless_minutes", "at": now.isoformat(), "minutes": 95}
        ]
        await self.services.usage.ingest_events(WORKSPACE, [*runs, *minutes])
        # The page reads the daily roll-up: run it now, as `tenure usage rollup --wait` does.
        started = await trigger_rollup(self.client.temporal, self.client.task_queue)
        await self.client.temporal.get_workflow_handle(started).result()

    async def collected(self) -> None:
        """Wait until every posted invoice had its first charge attempt (the page shows it)."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + COLLECT_TIMEOUT_S
        while not await self._all_attempted():
            if loop.time() > give_up:
                raise CliError(
                    f"--demo: the invoices were not charged within {COLLECT_TIMEOUT_S:.0f}s", UNAVAILABLE
                )
            await asyncio.sleep(0.25)

    async def _all_attempted(self) -> bool:
        posted = {i.number for i in (await self.client.state(WORKSPACE)).invoices}
        rows = {i.number: i for i in await self.services.billing.invoices(WORKSPACE)}
        return posted <= rows.keys() and all(
            rows[n].status != "Unpaid" or rows[n].attempt_count > 0 for n in posted
        )

    async def seed(self, base_url: str) -> DemoWorkspace:
        await self.workspace()
        payment_method = await self.card()
        for user, seat_type, cycle in SEATS:
            await self.seat(user, seat_type, cycle)
        await self.collected()
        await self.declined_seat(payment_method)
        await self.usage()
        link = await self.services.portal.create_link(WORKSPACE, ADMIN, None, base_url)
        return DemoWorkspace(WORKSPACE, ADMIN, link)


async def _seed(settings: Settings, emulator_url: str | None) -> DemoWorkspace:
    key = settings.stripe_api_key
    if key is None:
        raise CliError("--demo needs Stripe: the emulator (the default) or STRIPE_API_KEY", USAGE)
    base = {"api": settings.stripe_api_base} if settings.stripe_api_base else {}
    browser = stripe.StripeClient(key.get_secret_value(), base_addresses=base)  # type: ignore[arg-type]
    engine = async_engine(required_url(settings.database_url), pool_size=2)
    try:
        client = await TenureClient.connect(settings)

        async def source() -> TenureClient:
            return client

        services = services_for(settings, engine, source, demo_catalog(settings))
        return await Seeder(services, client, browser, emulator_url).seed(_base_url(settings))
    finally:
        await engine.dispose()


def demo_refusals(run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``run``; a refusal is one line naming what refused."""
    try:
        return asyncio.run(run())
    except (TenureError, DomainError) as refused:
        raise CliError(f"--demo: {refused.code}: {refused.message}", REJECTED) from None
    except stripe.StripeError as refused:
        raise CliError(f"--demo: Stripe refused: {refused.user_message or refused}", REJECTED) from None
    except RPCError as refused:
        raise CliError(f"--demo: Temporal refused: {refused.message}", UNAVAILABLE) from None


def seed_demo(env: Mapping[str, str], emulator_url: str | None) -> DemoWorkspace:
    """Seed (or find) the demo workspace on the stack whose children run with ``env``.

    Raises:
        CliError: a step was refused (one line: what refused, its code and message).
    """
    settings = stack_settings(env)
    return demo_refusals(lambda: _seed(settings, emulator_url))

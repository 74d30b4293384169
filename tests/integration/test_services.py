"""The application services against real PostgreSQL: what the HTTP tests cannot see from
outside (the audit row written in the change's transaction, nothing written on a refusal),
and that `tenure simulate` stores usage through the API's parser and writer."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from billing.catalog import load_catalog
from billing.errors import DomainError
from client import TenureClient
from db.engine import session_factory
from db.invoice_models import BillingProfileRow
from db.subscription_models import AuditLogRow
from db.usage_models import UsageEventRow
from services import Services, build_services
from simulate.runner import Run
from tests.integration.workspace_support import setup_for


async def _no_engine() -> TenureClient:
    raise AssertionError("these operations never reach Temporal")


@pytest.fixture(scope="module")
def services(migrated_engine: AsyncEngine) -> Services:
    return build_services(migrated_engine, _no_engine, None, load_catalog("seats"))


@pytest.fixture
async def ws(services: Services) -> str:
    workspace_id = f"svc-{uuid.uuid4().hex[:10]}"
    await services.workspaces.store(setup_for(workspace_id))
    return workspace_id


async def _audit_actions(engine: AsyncEngine, ws: str) -> list[str]:
    async with session_factory(engine)() as session:
        rows = await session.scalars(select(AuditLogRow.action).where(AuditLogRow.workspace_id == ws))
        return sorted(rows)


def _event(event_id: str, kind: str = "asset_check", **extra: Any) -> dict[str, Any]:
    return {"id": event_id, "kind": kind, "at": "2026-03-02T12:00:00Z", **extra}


async def _stored(engine: AsyncEngine, ws: str) -> dict[str, str]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(UsageEventRow.event_id, UsageEventRow.kind).where(UsageEventRow.workspace_id == ws)
        )
        return dict(rows.tuples().all())


async def test_a_simulate_usage_step_keeps_a_repeated_id_first_like_the_api(
    services: Services, migrated_engine: AsyncEngine, ws: str
) -> None:
    events = [_event("a"), _event("a", "sensor_evaluation"), _event("b")]
    # The simulate step itself (`Run._usage`), on the services it is built with.
    run = SimpleNamespace(services=services, workspace_id=ws, loaded=SimpleNamespace(usage={0: events}))
    await Run._usage(cast(Run, run), 0)
    assert await _stored(migrated_engine, ws) == {"a": "asset_check", "b": "asset_check"}

    other = f"{ws}-api"
    await services.workspaces.store(setup_for(other))
    counts = (await services.usage.ingest(json.dumps({"events": events}).encode(), other)).workspaces[other]
    assert (counts.received, counts.new, counts.duplicates) == (3, 2, 1)
    assert await _stored(migrated_engine, other) == await _stored(migrated_engine, ws)


async def test_an_entity_change_and_its_audit_are_one_transaction(
    services: Services, migrated_engine: AsyncEngine, ws: str
) -> None:
    from services.entities import Acting

    acting = Acting(actor="u-carol", member="u-carol", request_id="r-1")
    made = await services.entities.put_connection(ws, acting, "c-new", "github", None)
    assert (made.id, made.kind, made.status) == ("c-new", "github", "active")
    await services.entities.delete_connection(ws, Acting(actor="service:sync"), "c-new")
    assert await _audit_actions(migrated_engine, ws) == ["delete_connection", "put_connection"]

    with pytest.raises(DomainError) as missing:
        await services.entities.delete_agent(ws, Acting(actor="service:sync"), "never-there")
    assert (missing.value.code, missing.value.details) == ("not_found", {"id": "never-there"})
    with pytest.raises(DomainError) as stranger:
        await services.entities.put_agent(ws, Acting(actor="mallory", member="mallory"), "a-x")
    assert stranger.value.code == "forbidden"
    assert await _audit_actions(migrated_engine, ws) == ["delete_connection", "put_connection"]


async def test_billing_changes_need_an_active_billing_admin(services: Services, ws: str) -> None:
    await services.billing.authorize(ws, "u-alice")
    for who in ("u-carol", "nobody"):
        with pytest.raises(DomainError) as refused:
            await services.billing.authorize(ws, who)
        assert (refused.value.code, refused.value.details) == ("forbidden", {})
    with pytest.raises(DomainError) as unknown:
        await services.billing.authorize("no-such-workspace", "u-alice")
    assert unknown.value.code == "not_found"


async def test_a_business_in_a_tax_id_country_is_warned(
    services: Services, migrated_engine: AsyncEngine, ws: str
) -> None:
    async with session_factory(migrated_engine).begin() as session:
        profile = await session.get(BillingProfileRow, ws)
        assert profile is not None
        profile.purchasing_as_business, profile.country = True, "DE"
    details = await services.billing.details(ws)
    assert details.warnings == [
        "a business purchasing from DE must add a tax ID",
        "no payment method: invoices cannot be collected",
    ]
    async with session_factory(migrated_engine)() as session:
        audits = await session.scalar(select(func.count()).select_from(AuditLogRow))
    with pytest.raises(DomainError) as unconfigured:  # no gateway: refused before anything is written
        await services.billing.remove_tax_id(ws, "u-alice", "txi_1")
    assert unconfigured.value.code == "payments_unavailable"
    async with session_factory(migrated_engine)() as session:
        assert await session.scalar(select(func.count()).select_from(AuditLogRow)) == audits

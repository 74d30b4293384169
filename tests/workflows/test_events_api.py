"""The outbound event log end to end: a trial's notice 3 days before its end (real workflow on
the time-skipping server), and the pull API over real HTTP (paging with the stored cursor,
filters, one event, refusals that change nothing)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from billing.workspace import Member
from contracts.workspace import WorkspaceSetup
from devstack.timeskip import time_skipping_server
from tests.workflows.driver import Driver
from tests.workflows.http import as_user, created


@pytest.fixture(scope="module")
async def time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    """This module's own time-skipping server (see tests/workflows/test_credits_lifecycle.py)."""
    async with time_skipping_server() as env:
        yield env


async def test_a_trial_emits_trial_will_end_three_days_before_it_ends(driver: Driver) -> None:
    setup = WorkspaceSetup(
        workspace_id=f"notice-{uuid.uuid4().hex[:8]}",
        billing_contact_email="billing@acme.test",
        members=[
            Member(user_id="alice", role="org_admin", role_granted_at=datetime(2025, 12, 1, tzinfo=UTC))
        ],
    )
    await driver.start(setup, "credits", datetime(2026, 3, 10, 9, tzinfo=UTC))
    trial = (await driver.state()).trial
    assert trial is not None
    notice_at = trial.ends_at - timedelta(days=3)
    events = "SELECT type, occurred_at, payload FROM events WHERE workspace_id = :ws ORDER BY workspace_seq"

    await driver.advance_to(notice_at - timedelta(hours=1))
    started = ["subscription.created", "entitlements.updated"]  # the trial's grant
    assert [r["type"] for r in await driver.rows(events)] == started
    await driver.advance_to(notice_at + timedelta(hours=1))
    rows = await driver.rows(events)
    assert [(r["type"], r["occurred_at"]) for r in rows][2:] == [("trial.will_end", notice_at)]
    assert rows[2]["payload"] == {"ends_at": trial.ends_at.isoformat(), "plan": None}
    mail = await driver.rows(
        "SELECT template, to_address, data FROM email_outbox"
        " WHERE workspace_id = :ws AND template = 'trial_ending'"
    )
    assert [(m["to_address"], m["data"]["ends_at"]) for m in mail] == [
        ("billing@acme.test", trial.ends_at.isoformat())
    ]


async def _all(api: httpx.AsyncClient, limit: int, **params: Any) -> list[dict[str, Any]]:
    """Every page after the start, following ``next_cursor`` as a consumer does."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await api.get(
            "/v1/events", params={"limit": limit, **params, **({"after": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["data"]) <= limit
        found += body["data"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return found


async def test_the_pull_api_pages_filters_and_refuses(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    for user in ("carol", "dan", "erin"):
        added = await api.post(f"/v1/workspaces/{ws}/members", json={"user": user}, headers=as_user("alice"))
        assert added.status_code == 200, added.text

    everything = await _all(api, 1000, workspace_id=ws)
    assert [e["sequence"] for e in everything] == list(range(1, len(everything) + 1))
    assert everything[0]["type"] == "subscription.created"
    members = [e["payload"]["user_id"] for e in everything if e["type"] == "member.added"]
    assert members == ["carol", "dan", "erin"]
    paged = await _all(api, 2, workspace_id=ws)
    assert paged == everything  # each event once, in order, whatever the page size

    # The global log (every workspace): each event once, this workspace's among them in order.
    world = await _all(api, 7)
    assert len({e["id"] for e in world}) == len(world)
    assert [e for e in world if e["workspace_id"] == ws] == everything

    # A stored cursor: nothing new after the last event, and the cursor stays.
    last = everything[-1]["id"]
    after = (await api.get("/v1/events", params={"after": last, "workspace_id": ws})).json()
    assert after == {"data": [], "has_more": False, "next_cursor": last}

    only = await _all(api, 1000, workspace_id=ws, type="member.added")
    assert [e["type"] for e in only] == ["member.added"] * 3
    both = await api.get(
        "/v1/events",
        params=[
            ("workspace_id", ws),
            ("type", "member.added,subscription.created"),
            ("type", "member.added"),
        ],
    )
    assert [e["type"] for e in both.json()["data"]] == ["subscription.created", *["member.added"] * 3]

    one = await api.get(f"/v1/events/{everything[1]['id']}")
    assert (one.status_code, one.json()) == (200, everything[1])
    missing = await api.get("/v1/events/evt_000000000000000000000000")
    assert (missing.status_code, missing.json()["code"]) == (404, "event_not_found")

    refusals = {
        "after=nope": "query.after",
        "after=evt_000000000000000000000000": "query.after",
        "limit=0": "query.limit",
        "limit=1001": "query.limit",
        "type=member.exploded": "query.type",
    }
    for query, field in refusals.items():
        refused = await api.get(f"/v1/events?{query}")
        assert refused.status_code == 422, query
        body = refused.json()
        assert body["code"] == "invalid_argument"
        assert [e["field"] for e in body["details"]["errors"]] == [field], query
    assert await _all(api, 1000, workspace_id=ws) == everything  # the refusals changed nothing

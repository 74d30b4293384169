"""The authorization matrix: every endpoint of the API, each called with no token, a wrong
token, a service token acting as a plain member, as an organization admin, and a staff token
acting as a support login, over real HTTP against the real stack.

Refused cells must change nothing; allowed cells return the endpoint's own status. A new
endpoint fails `test_the_matrix_covers_every_endpoint` until it has a row here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from api.app import create_app
from config.settings import Settings
from tests.workflows.conftest import ApiServer
from tests.workflows.driver import Driver
from tests.workflows.http import created

Level = Literal["token", "member", "admin", "staff"]
Cell = Literal["no token", "wrong token", "member", "admin", "staff"]
CELLS: tuple[Cell, ...] = ("no token", "wrong token", "member", "staff", "admin")
# Who may call an endpoint of each level.
ALLOWED: dict[Level, set[Cell]] = {
    "token": {"member", "admin", "staff"},
    "member": {"member", "admin"},  # the staff login is no member of the workspace
    "admin": {"admin"},
    "staff": {"staff"},
}
# Called without any token by design, tested elsewhere: the webhook is authenticated by
# Stripe's signature (tests/integration/test_stripe_webhook.py), the health check is public.
UNAUTHENTICATED = {("get", "/healthz"), ("post", "/v1/stripe/webhook")}

Prepare = Callable[["Context"], Awaitable[dict[str, str]]]


@dataclass
class Context:
    """What a row's preparation may use: the admin client, the driver, the workspace."""

    admin: httpx.AsyncClient
    driver: Driver
    ws: str


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # the OpenAPI path template; {workspace_id} and prepared values are filled in
    level: Level
    ok: int
    body: dict[str, Any] | None = None
    prepare: Prepare | None = None
    fill: dict[str, str] = field(default_factory=dict)


async def _connection(c: Context) -> dict[str, str]:
    await c.admin.put(f"/v1/workspaces/{c.ws}/connections/c1", json={})
    return {}


async def _data_source(c: Context) -> dict[str, str]:
    await c.admin.put(f"/v1/workspaces/{c.ws}/data-sources/s1", json={"bytes": 1})
    return {}


async def _agent(c: Context) -> dict[str, str]:
    await c.admin.put(f"/v1/workspaces/{c.ws}/agents/a1")
    return {}


async def _confirmed_card(c: Context) -> dict[str, str]:
    started = await c.admin.post(f"/v1/workspaces/{c.ws}/payment-method/setup")
    intent = started.json()["setup_intent_id"]
    c.driver.payments.raw().v1.setup_intents.confirm(intent, {"payment_method": "pm_card_visa"})
    return {"intent": intent}


async def _tax_id(c: Context) -> dict[str, str]:
    added = await c.admin.post(
        f"/v1/workspaces/{c.ws}/tax-ids", json={"type": "eu_vat", "value": "DE987654321"}
    )
    return {"tax_id": added.json()["id"]}


async def _seat(c: Context) -> dict[str, str]:
    await c.admin.post(f"/v1/workspaces/{c.ws}/seats", json={"user": "bob", "type": "pro"})
    return {}


async def _cancelled(c: Context) -> dict[str, str]:
    await c.admin.post(f"/v1/workspaces/{c.ws}/cancel", json={"reason": "matrix"})
    return {}


async def _member(c: Context) -> dict[str, str]:
    await c.admin.post(f"/v1/workspaces/{c.ws}/members", json={"user": "carol"})
    return {}


async def _open_invoice(c: Context) -> dict[str, str]:
    state = await c.driver.state()
    return {"number": state.invoices[-1].number if state.invoices else "INV-NONE"}


async def _period_end(c: Context) -> dict[str, str]:
    # A paid workspace's contract starts when its current period ends.
    end = (await c.driver.overview()).period_end
    assert end is not None
    return {"period_end": end.isoformat(), "year_later": end.replace(year=end.year + 1).isoformat()}


async def _an_event(c: Context) -> dict[str, str]:
    page = await c.admin.get("/v1/events", params={"workspace_id": c.ws, "limit": 1})
    return {"event_id": page.json()["data"][0]["id"]}


# --- webhook endpoints (service tokens only) -------------------------------------------------
HOOK = "https://matrix.invalid/hook"
E = "/v1/webhook-endpoints"


async def _endpoint(c: Context) -> dict[str, str]:
    # One matrix endpoint, made if none; the others deleted, so none outlives the matrix
    # (an endpoint's dispatcher would keep polling on the shared time-skipping server).
    mine = [e["id"] for e in (await c.admin.get(E)).json() if e["url"] == HOOK]
    if not mine:
        mine = [(await c.admin.post(E, json={"url": HOOK})).json()["id"]]
    for extra in mine[1:]:
        await c.admin.delete(f"{E}/{extra}")
    return {"endpoint_id": mine[0]}


W = "/v1/workspaces/{workspace_id}"
S = "/v1/support/workspaces/{workspace_id}"
CONTRACT = {
    "plan": "enterprise",
    "starts_at": "{period_end}",
    "ends_at": "{year_later}",
    "price": 1_200_000,
    "seat_unit_price": 4_000,
}
# Any token may send usage; the cells run in order on one workspace, so after the member's
# cell stored the event, the staff and admin cells replay it (still 200: nothing new).
USAGE = {"events": [{"id": "matrix-1", "kind": "asset_check", "at": "2026-03-02T10:00:00Z"}]}
BULK_USAGE = {"events": [{"workspace_id": "{workspace_id}", **USAGE["events"][0]}]}
# In order: each row runs on the state the rows above left (the deletion comes last).
ROWS: list[Row] = [
    Row("get", f"{W}/invoices", "token", 200),
    Row("get", f"{W}/billing-details", "token", 200),
    Row("get", f"{W}/tax-ids", "token", 200),
    Row("get", f"{W}/overview", "token", 200),
    # issue 15: the outbound event log (pull API)
    Row("get", "/v1/events", "token", 200),
    Row("get", "/v1/events/{event_id}", "token", 200, None, _an_event),
    Row("get", f"{W}/entities", "token", 200),
    Row(
        "put",
        f"{W}/connections/{{connection_id}}",
        "member",
        200,
        {"kind": "notion"},
        fill={"connection_id": "c1"},
    ),
    Row(
        "delete",
        f"{W}/connections/{{connection_id}}",
        "member",
        204,
        None,
        _connection,
        {"connection_id": "c1"},
    ),
    Row("put", f"{W}/data-sources/{{source_id}}", "member", 200, {"bytes": 5}, fill={"source_id": "s1"}),
    Row("delete", f"{W}/data-sources/{{source_id}}", "member", 204, None, _data_source, {"source_id": "s1"}),
    Row("put", f"{W}/agents/{{agent_id}}", "member", 200, fill={"agent_id": "a1"}),
    Row("delete", f"{W}/agents/{{agent_id}}", "member", 204, None, _agent, {"agent_id": "a1"}),
    Row("put", f"{W}/slack-bot", "member", 200),
    Row("delete", f"{W}/slack-bot", "member", 200),
    Row(
        "put", f"{W}/billing-details", "admin", 200, {"billing_email": "ap@acme.test", "company_name": "Acme"}
    ),
    Row("post", f"{W}/payment-method/setup", "admin", 200),
    Row("post", f"{W}/payment-method", "admin", 200, {"setup_intent_id": "{intent}"}, _confirmed_card),
    Row("post", f"{W}/tax-ids", "admin", 201, {"type": "eu_vat", "value": "DE123456789"}),
    Row("delete", f"{W}/tax-ids/{{tax_id}}", "admin", 204, None, _tax_id),
    Row("post", f"{W}/members", "admin", 200, {"user": "carol"}),
    Row("put", f"{W}/members/{{user}}/role", "admin", 200, {"role": "admin"}, fill={"user": "carol"}),
    Row("delete", f"{W}/members/{{user}}", "admin", 200, None, _member, {"user": "carol"}),
    Row("post", f"{W}/seats/preview", "admin", 200, {"user": "bob", "type": "pro"}),
    Row("post", f"{W}/seats", "admin", 200, {"user": "bob", "type": "pro"}),
    Row("put", f"{W}/seats/{{user}}", "admin", 200, {"type": "max"}, fill={"user": "bob"}),
    Row("delete", f"{W}/seats/{{user}}", "admin", 200, None, _seat, {"user": "bob"}),
    Row("post", f"{W}/plan/preview", "admin", 200, {"plan": "business"}),
    Row("put", f"{W}/plan", "admin", 200, {"plan": "business"}),
    Row("post", f"{W}/seat-requests", "admin", 409, {"quantity": 2}),  # no contract yet
    Row("post", f"{W}/cancel", "admin", 200, {"reason": "budget"}),
    Row("post", f"{W}/reactivate", "admin", 200, None, _cancelled),
    Row("post", "/v1/workspaces", "token", 200, {"workspace_id": "{workspace_id}"}),
    Row("post", f"{W}/usage", "token", 200, USAGE),
    Row("post", "/v1/usage", "token", 200, BULK_USAGE),
    Row("post", f"{S}/extend-trial", "staff", 409, {"days": 7, "reason": "goodwill"}),  # not trialing
    Row("put", f"{S}/contract", "staff", 200, CONTRACT, _period_end),
    Row("post", f"{S}/seat-requests/{{seat_request}}/approve", "staff", 409, fill={"seat_request": "r1"}),
    Row("post", f"{S}/cancel", "staff", 200, {"reason": "asked by phone"}),
    Row("post", f"{S}/reactivate", "staff", 200),
    # Paid at once with the card on file: nothing left to void (the happy path: test_support_api).
    Row("post", "/v1/support/invoices/{number}/void", "staff", 409, {"reason": "x"}, _open_invoice),
    # Entitlements (issue 15): any token reads them, from the projection.
    Row("get", f"{W}/entitlements", "token", 200),
    Row("post", f"{W}/entitlements/check", "token", 200, {"limit": "connectors", "quantity": 1}),
    # --- webhook endpoints: a service token, with or without an acting user; the last row
    # deletes every endpoint the block made.
    Row("post", E, "member", 201, {"url": HOOK}),
    Row("get", E, "member", 200),
    Row("get", f"{E}/{{endpoint_id}}", "member", 200, None, _endpoint),
    Row("get", f"{E}/{{endpoint_id}}/deliveries", "member", 200, None, _endpoint),
    Row("post", f"{E}/{{endpoint_id}}/replay", "member", 202, {"workspace_id": "{workspace_id}"}, _endpoint),
    Row("delete", f"{E}/{{endpoint_id}}", "member", 204, None, _endpoint),
    # issue 16: portal links for the billing page (a service token; staff never act through it)
    Row("post", f"{W}/portal-sessions", "member", 201, {"user": "alice"}),
    # issue 19: the codec server of the Web UI (staff only: it shows personal data)
    Row("post", "/codec/decode", "staff", 200, {"payloads": []}),
    Row("post", "/codec/encode", "staff", 200, {"payloads": []}),
    Row("post", f"{W}/delete", "admin", 200, {"confirm": "{workspace_id}"}),
]


def _headers(cell: Cell, server: ApiServer) -> dict[str, str]:
    return {
        "no token": {"X-Acting-User": "alice"},
        "wrong token": {"Authorization": "Bearer not-a-token", "X-Acting-User": "alice"},
        "member": {"Authorization": f"Bearer {server.service_token}", "X-Acting-User": "bob"},
        "admin": {"Authorization": f"Bearer {server.service_token}", "X-Acting-User": "alice"},
        "staff": {"Authorization": f"Bearer {server.staff_token}", "X-Acting-User": "eve"},
    }[cell]


def _filled(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _filled(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, values) for v in value]
    return value


# The workspace's rows a refused request must leave alone: the entities the product reports,
# the roster, billing details, and the record tables (audit, timeline, outbox).
_TABLES = (
    "members",
    "connections",
    "data_sources",
    "agents",
    "slack_bots",
    "billing_profiles",
    "tax_ids",
    "audit_log",
    "subscription_events",
    "email_outbox",
)


async def _rows(driver: Driver) -> dict[str, list[str]]:
    return {
        table: sorted(map(repr, await driver.rows(f"SELECT * FROM {table} WHERE workspace_id = :ws")))
        for table in _TABLES
    }


def _expected(row: Row, cell: Cell) -> int:
    if cell in ("no token", "wrong token"):
        return 401
    return row.ok if cell in ALLOWED[row.level] else 403


async def test_the_matrix(api_server: ApiServer, api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await created(api, driver)
    headers = _headers("admin", api_server)
    async with httpx.AsyncClient(base_url=api_server.url, headers=headers, timeout=60) as admin:
        context = Context(admin, driver, ws)
        seen: list[tuple[str, str, Cell, int, int]] = []
        for row in ROWS:
            for cell in CELLS:
                values = {"workspace_id": ws, **row.fill}
                expected = _expected(row, cell)
                if row.prepare is not None:  # before every cell: an allowed one may undo it
                    values |= await row.prepare(context)
                before = await driver.state()
                rows_before = await _rows(driver)
                async with httpx.AsyncClient(base_url=api_server.url, timeout=60) as caller:
                    answer = await caller.request(
                        row.method,
                        _filled(row.path, values),
                        json=_filled(row.body, values),
                        headers=_headers(cell, api_server),
                    )
                seen.append((row.method, row.path, cell, expected, answer.status_code))
                if answer.status_code in (401, 403):
                    assert answer.json()["code"] in ("unauthenticated", "forbidden"), answer.text
                if answer.status_code >= 400:  # any refusal changes nothing, anywhere
                    where = f"{row.method} {row.path} as {cell} ({answer.status_code})"
                    assert await driver.state() == before, f"{where} changed the subscription"
                    assert await _rows(driver) == rows_before, f"{where} changed the database"
        wrong = [s for s in seen if s[3] != s[4]]
        assert not wrong, "\n".join(
            f"{m.upper()} {p} as {c}: expected {e}, got {g}" for m, p, c, e, g in wrong
        )


def test_the_matrix_covers_every_endpoint() -> None:
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    served = {(method, path) for path, ops in app.openapi()["paths"].items() for method in ops}
    listed = {(row.method, row.path) for row in ROWS}
    assert served - UNAUTHENTICATED == listed

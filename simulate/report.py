"""The report of a run (SPEC §7's JSON), read from the record, and its normalisation.

Invoices, lines, the timeline and the workspace's people and data come from the database
(the record of what happened); status, plan and the overview from the workflow's queries.

Normalisation makes two runs of one scenario print the same bytes:
- instants are cut to the whole second: between skips the test server's clock runs at
  wall speed, so the sub-second part of an instant is noise;
- the workspace id is the scenario's, also when the run used a suffixed one;
- ``stable_ids`` replaces Stripe's generated ids and the emulator's address with
  placeholders numbered in order of first appearance.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from temporalio.service import RPCError

from billing.projection import project_contract
from billing.state import BillingState
from workflows.subscription import SubscriptionWorkflow

if TYPE_CHECKING:
    from simulate.runner import Run

_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_STRIPE_ID = re.compile(r"\b(cus|in|ii|pm|seti|pi|ch|evt|txi|card|src|re|il)_[A-Za-z0-9]{6,}\b")
_EMULATOR_URL = re.compile(r"http://127\.0\.0\.1:\d+")


async def _rows(run: Run, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with run.stack.engine.connect() as conn:
        result = await conn.execute(text(sql), {"ws": run.workspace_id, **params})
        return [dict(r._mapping) for r in result]


async def _invoices(run: Run) -> list[dict[str, Any]]:
    invoices = await _rows(
        run,
        "SELECT number, issued_at, period_start, period_end, currency, total, status FROM invoices"
        " WHERE workspace_id = :ws ORDER BY issued_at, number",
    )
    lines = await _rows(
        run,
        "SELECT l.invoice_number, l.kind, l.description, l.quantity, l.unit_amount, l.amount,"
        " l.period_start, l.period_end FROM invoice_lines l JOIN invoices i ON i.number = l.invoice_number"
        " WHERE i.workspace_id = :ws ORDER BY l.invoice_number, l.position",
    )
    for invoice in invoices:
        invoice["lines"] = [
            {k: v for k, v in line.items() if k != "invoice_number"}
            for line in lines
            if line["invoice_number"] == invoice["number"]
        ]
    return invoices


async def _timeline(run: Run) -> list[dict[str, Any]]:
    rows = await _rows(
        run, "SELECT at, event, data FROM subscription_events WHERE workspace_id = :ws ORDER BY at, id"
    )
    timeline = [{"at": r["at"], "event": r["event"], **(r["data"] or {})} for r in rows]
    # Cut to the second first, then sort stably: rows of one instant keep their recorded order.
    return sorted(timeline, key=lambda e: _second(e["at"]))


def _second(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(microsecond=0)


async def _final(run: Run) -> dict[str, Any]:
    members = await _rows(
        run,
        "SELECT user_id AS user, role, status, seat_type, seat_cycle FROM members"
        " WHERE workspace_id = :ws ORDER BY user_id",
    )
    connections = await _rows(
        run, "SELECT id, status, deleted_at FROM connections WHERE workspace_id = :ws ORDER BY id"
    )
    data_sources = await _rows(
        run,
        "SELECT id, bytes, status, deletion_scheduled_at, deleted_at FROM data_sources"
        " WHERE workspace_id = :ws ORDER BY id",
    )
    agents = await _rows(run, "SELECT id, status FROM agents WHERE workspace_id = :ws ORDER BY id")
    try:
        state = await run.state()
        overview = (await run.handle.query(SubscriptionWorkflow.billing_overview)).model_dump(mode="json")
        status, plan = state.status, state.plan
    except RPCError as error:
        raise RuntimeError(f"the subscription cannot be queried: {error}") from error
    return {
        "status": status,
        "plan": plan,
        "usage": await _usage(run, state),
        "members": members,
        "connections": connections,
        "data_sources": data_sources,
        "agents": agents,
        "overview": overview,
    }


async def _usage(run: Run, state: BillingState) -> dict[str, Any]:
    """Usage recorded over the whole run and, under a contract, its projection (SPEC §1.3)."""
    [totals] = await _rows(
        run,
        "SELECT count(*) AS events, coalesce(sum(credits), 0) AS credits,"
        " coalesce(sum(serverless_minutes), 0) AS serverless_minutes"
        " FROM usage_events WHERE workspace_id = :ws",
    )
    usage: dict[str, Any] = {k: int(v) for k, v in totals.items()}
    contract = state.contract
    if contract is not None:
        as_of = min(max(run.loaded.scenario.end, contract.starts_at), contract.ends_at)
        [used] = await _rows(
            run,
            "SELECT coalesce(sum(credits), 0) AS credits FROM usage_events"
            " WHERE workspace_id = :ws AND at >= :start AND at < :end",
            start=contract.starts_at,
            end=as_of,
        )
        projection = project_contract(
            used=int(used["credits"]),
            in_contract=contract.credits,
            rolled_over=contract.rollover_credits,
            start=contract.starts_at,
            end=contract.ends_at,
            as_of=as_of,
            overage_rate=contract.credit_overage_rate,
        )
        if projection is not None:
            usage["contract_projection"] = projection.model_dump(
                mode="json", exclude={"elapsed_fraction"}
            ) | {"elapsed_fraction": str(projection.elapsed_fraction)}
    usage["batches"] = await _batches(run)
    return usage


async def _batches(run: Run) -> list[dict[str, Any]]:
    """Each `usage` step's events as stored, with the credits priced at ingestion."""
    batches: list[dict[str, Any]] = []
    for index, events in sorted(run.loaded.usage.items()):
        [stored] = await _rows(
            run,
            "SELECT count(*) AS events, coalesce(sum(credits), 0) AS credits,"
            " coalesce(sum(serverless_minutes), 0) AS serverless_minutes"
            " FROM usage_events WHERE workspace_id = :ws AND event_id = ANY(:ids)",
            ids=[e["id"] for e in events],
        )
        step = run.loaded.scenario.steps[index]
        batches.append(
            {"at": step.at, "line": run.loaded.step_lines[index]} | {k: int(v) for k, v in stored.items()}
        )
    return batches


async def build(run: Run) -> dict[str, Any]:
    """The SPEC §7 document of ``run`` (normalised; see the module docstring)."""
    document = {
        "scenario": run.loaded.source,
        "workspace": run.loaded.scenario.workspace.id,
        "catalog": run.loaded.catalog.name,
        "start": run.loaded.scenario.start,
        "end": run.loaded.scenario.end,
        "invoices": await _invoices(run),
        "timeline": await _timeline(run),
        "rejected": run.rejected,
        "final": await _final(run),
    }
    normalised: dict[str, Any] = normalise(document, run.workspace_id, run.loaded.scenario.workspace.id)
    return normalised


def normalise(value: Any, run_id: str, scenario_id: str) -> Any:
    """Instants as ``YYYY-MM-DDTHH:MM:SSZ``, and the run's workspace id as the scenario's."""
    if isinstance(value, datetime):
        return _second(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, str):
        if _INSTANT.match(value):
            return normalise(datetime.fromisoformat(value.replace("Z", "+00:00")), run_id, scenario_id)
        return value.replace(run_id, scenario_id) if run_id != scenario_id else value
    if isinstance(value, Mapping):
        return {
            normalise(k, run_id, scenario_id): normalise(v, run_id, scenario_id) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [normalise(v, run_id, scenario_id) for v in value]
    return value


def stable_ids(value: Any) -> Any:
    """``value`` with Stripe ids as ``<cus_1>``, ``<in_2>``... and the emulator as ``http://stripe.test``."""
    seen: dict[str, str] = {}

    def placeholder(match: re.Match[str]) -> str:
        token = match.group(0)
        if token not in seen:
            seen[token] = f"<{match.group(1)}_{len(seen) + 1}>"
        return seen[token]

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return _STRIPE_ID.sub(placeholder, _EMULATOR_URL.sub("http://stripe.test", item))
        if isinstance(item, Mapping):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value)

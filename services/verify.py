"""The invariant checker behind `tenure verify` and `bench/chaos.py` (SPEC §8, issue 18).

Four promises, checked per workspace against the record, the workflow and Stripe:

- ``command``: every command the audit log accepted is in the workflow's state (its request
  id among those the workflow remembers), and every remembered command is audited;
- ``projection`` / ``roster`` / ``entitlements``: what the decision record wrote to SQL
  equals what the workflow holds;
- ``charge``: every invoice is paid at most once at Stripe, and every invoice Tenure calls
  paid is paid there exactly once, for its total;
- ``events`` / ``email`` / ``webhook``: the event log has no gap per workspace, no e-mail is
  left unsent, no webhook delivery is missing or made twice per event;
- ``workflow``: a workflow that does not answer its state query in time cannot be checked.

The comparisons are pure functions of what was read (tested without servers); `VerifyService`
only reads. A decision being written while the checker reads would look like a mismatch, so
the workflow-versus-SQL checks are read again before they are reported.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError

from activities.stripe_gateway import stripe_client
from billing.catalog import Catalog, load_catalog
from billing.commands import COMMANDS
from billing.entitlements import grant, subscription_counts
from billing.state import PROCESSED_WINDOW, BillingState, seats_held
from client import TenureClient, TenureError
from config.settings import Settings
from contracts.errors import TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS
from db import records_repo
from db import verify_repo as repo
from db.engine import session_factory
from services.base import ClientSource, Clock, UnitOfWork, utc_now


@dataclass(frozen=True, order=True)
class Violation:
    """One broken promise: which workspace, which check, what was found."""

    workspace_id: str
    check: str
    message: str

    def line(self) -> str:
        """The one line `tenure verify` prints."""
        return f"{self.workspace_id}: {self.check}: {self.message}"

    def as_json(self) -> dict[str, str]:
        return {"workspace_id": self.workspace_id, "check": self.check, "message": self.message}


@dataclass(frozen=True)
class StripeInvoiceSeen:
    """A Stripe invoice as the checker needs it (``number``: our number, from its metadata)."""

    id: str
    number: str | None
    status: str
    amount_paid: int


# Lists a customer's invoices at Stripe (the emulator under `tenure dev`).
StripeLister = Callable[[str], Awaitable[list[StripeInvoiceSeen]]]


# --- the pure comparisons -------------------------------------------------------------------


_BUSY = frozenset({TEMPORARILY_UNAVAILABLE, TOO_MANY_REQUESTS})


def commands_vs_state(
    ws: str, audit: Sequence[tuple[int, str, str]], processed: Sequence[str], window: int = PROCESSED_WINDOW
) -> list[Violation]:
    """Audited commands missing from the workflow's memory, and remembered ones never audited.

    The workflow remembers the last ``window`` request ids only: when it is full, audit rows
    older than the oldest one it still remembers are out of reach and not checked.
    """
    commands = [(i, r) for i, r, action in audit if action in COMMANDS]
    known = set(processed)
    if len(processed) >= window:
        remembered = [i for i, r in commands if r in known]
        oldest = min(remembered, default=None)
        commands = [(i, r) for i, r in commands if oldest is not None and i >= oldest]
    found = [
        Violation(ws, "command", f"audited command {r} is not in the workflow")
        for _, r in commands
        if r not in known
    ]
    audited = {r for _, r, _ in audit}
    found += [
        Violation(ws, "command", f"command {r} applied but not audited")
        for r in processed
        if r not in audited
    ]
    return found


_PROJECTED = (
    "catalog",
    "status",
    "plan",
    "paid_seats",
    "period_start",
    "period_end",
    "trial_ends_at",
    "cancel_at",
    "credit_balance",
)


def expected_projection(state: BillingState) -> dict[str, Any]:
    """The columns of ``subscriptions`` that ``state`` determines (the decision record's)."""
    return {
        "catalog": state.catalog_name,
        "status": state.status,
        "plan": state.plan,
        "paid_seats": len(seats_held(state)),
        "period_start": state.period_start,
        "period_end": state.period_end,
        "trial_ends_at": state.trial.ends_at if state.trial else None,
        "cancel_at": state.cancel_at,
        "credit_balance": state.credit_balance,
    }


def _differences(
    ws: str, check: str, stored: Mapping[str, Any], wanted: Mapping[str, Any]
) -> list[Violation]:
    return [
        Violation(ws, check, f"{k} is {stored.get(k)!r} in SQL, {v!r} in the workflow")
        for k, v in wanted.items()
        if stored.get(k) != v
    ]


def projection_vs_state(ws: str, stored: Mapping[str, Any] | None, state: BillingState) -> list[Violation]:
    """The ``subscriptions`` row against the workflow's state."""
    if stored is None:
        return [Violation(ws, "projection", "no subscriptions row for a running workflow")]
    return _differences(ws, "projection", stored, expected_projection(state))


def roster_vs_state(
    ws: str, rows: Sequence[tuple[str, str, str, str | None, str | None]], state: BillingState
) -> list[Violation]:
    """The ``members`` rows (roles, paid seats) against the workflow's members and seats."""
    found: list[Violation] = []
    sql = {r[0]: r for r in rows}
    held = seats_held(state)
    for user in sorted(set(sql) | set(state.members)):
        row, member = sql.get(user), state.members.get(user)
        if row is None:
            found.append(Violation(ws, "roster", f"member {user} is in the workflow, not in SQL"))
            continue
        if member is None:
            found.append(Violation(ws, "roster", f"member {user} is in SQL, not in the workflow"))
            continue
        if row[1] != member.role:
            found.append(
                Violation(
                    ws, "roster", f"member {user} has role {row[1]} in SQL, {member.role} in the workflow"
                )
            )
        seat = held.get(user)
        wanted = (seat.seat_type, seat.cycle) if seat else (None, None)
        if (row[3], row[4]) != wanted:
            found.append(
                Violation(
                    ws, "seats", f"seat of {user} is {(row[3], row[4])} in SQL, {wanted} in the workflow"
                )
            )
    return found


def entitlements_vs_state(
    ws: str, row: Mapping[str, Any] | None, state: BillingState, catalog: Catalog, at: datetime
) -> list[Violation]:
    """The entitlements projection against what the workflow's state grants."""
    if row is None:
        return [Violation(ws, "entitlements", "no entitlements row for a running workflow")]
    granted, counts = grant(state, catalog, at), subscription_counts(state, catalog)
    wanted = {
        "plan": granted.plan,
        "status": granted.status,
        "active": granted.active,
        "features": list(granted.features),
        "max_members": granted.limits.members,
        "max_paid_seats": granted.limits.paid_seats,
        "members_used": counts.members,
        "paid_seats_used": counts.paid_seats,
    }
    return _differences(ws, "entitlements", {**row, "features": list(row.get("features") or [])}, wanted)


def charges(
    ws: str, invoices: Sequence[tuple[str, str, int, str | None]], at_stripe: Sequence[StripeInvoiceSeen]
) -> list[Violation]:
    """Each invoice paid at most once at Stripe; each one Tenure calls paid, exactly once, in full."""
    paid = [s for s in at_stripe if s.status == "paid" and s.number is not None]
    per_number = Counter(s.number for s in paid if s.number is not None)
    found = [
        Violation(ws, "charge", f"invoice {n} is paid {count} times at Stripe")
        for n, count in sorted(per_number.items())
        if count > 1
    ]
    for number, status, total, _ in invoices:
        if status == "paid" and per_number[number] == 0:
            found.append(Violation(ws, "charge", f"invoice {number} is paid in Tenure, not at Stripe"))
        if status == "paid" and per_number[number] == 1:
            amount = next(s.amount_paid for s in paid if s.number == number)
            if amount != total:
                found.append(
                    Violation(ws, "charge", f"invoice {number} total {total}, Stripe collected {amount}")
                )
    ours = {n: s for n, s, _, _ in invoices}
    found += [
        Violation(ws, "charge", f"invoice {n} is paid at Stripe, {ours.get(n, 'unknown')} in Tenure")
        for n in sorted(per_number)
        if ours.get(n) != "paid"
    ]
    return found


def event_gaps(ws: str, sequences: Sequence[int]) -> list[Violation]:
    """The workspace's events must be numbered 1..N, each once."""
    found = [
        Violation(ws, "events", f"sequence {s} appears {n} times")
        for s, n in sorted(Counter(sequences).items())
        if n > 1
    ]
    missing = sorted(set(range(1, max(sequences, default=0) + 1)) - set(sequences))
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        found.append(Violation(ws, "events", f"{len(missing)} sequence numbers missing: {shown}"))
    return found


def unsent_email(
    ws: str, rows: Sequence[tuple[str, datetime, bool, bool]], now: datetime, grace: timedelta
) -> list[Violation]:
    """E-mails neither sent nor refused for good, older than ``grace`` (the relay lost them)."""
    return [
        Violation(ws, "email", f"e-mail {key} not sent since {created:%Y-%m-%d %H:%M:%S}")
        for key, created, sent, failed in sorted(rows)
        if not sent and not failed and now - created > grace
    ]


def _wants(types: Sequence[str], event_type: str) -> bool:
    return not types or event_type in types


def webhook_deliveries(
    ws: str,
    endpoints: Sequence[tuple[str, str, list[str], int]],
    events: Sequence[tuple[str, str, int, datetime]],
    delivered: Iterable[tuple[str, str, int]],
    now: datetime,
    grace: timedelta,
) -> list[Violation]:
    """Each event an active endpoint subscribes to delivered once: none missing beyond
    ``grace``, none delivered twice."""
    count = {(e, v): n for e, v, n in delivered}
    found = [
        Violation(ws, "webhook", f"event {v} delivered {n} times to {e}")
        for (e, v), n in sorted(count.items())
        if n > 1
    ]
    for endpoint, status, types, start in endpoints:
        if status != "active":
            continue  # a failing or disabled endpoint's backlog is its own warning, not a loss
        found += [
            Violation(ws, "webhook", f"event {v} never delivered to {endpoint}")
            for v, kind, seq, at in sorted(events)
            if seq > start and _wants(types, kind) and (endpoint, v) not in count and now - at > grace
        ]
    return found


# --- reading ---------------------------------------------------------------------------------


async def list_stripe_invoices(client: Any, customer_id: str) -> list[StripeInvoiceSeen]:
    """A customer's invoices through the official SDK (``client``: a ``stripe.StripeClient``)."""
    page = await client.v1.invoices.list_async({"customer": customer_id, "limit": 100})
    seen: list[StripeInvoiceSeen] = []
    async for inv in page.auto_paging_iter():
        metadata = inv.metadata.to_dict() if inv.metadata else {}
        number = metadata.get("number")
        seen.append(StripeInvoiceSeen(inv.id, number, str(inv.status), int(inv.amount_paid or 0)))
    return seen


class VerifyService:
    """Reads a workspace's record, its workflow and its Stripe customer, and compares them."""

    def __init__(
        self,
        uow: UnitOfWork,
        clients: ClientSource,
        catalog_for: Callable[[str], Catalog],
        stripe: StripeLister | None = None,
        clock: Clock = utc_now,
        grace: timedelta = timedelta(minutes=2),
        settle_s: float = 1.0,
        query_timeout_s: float = 30.0,
    ) -> None:
        self._uow, self._clients, self._catalog_for = uow, clients, catalog_for
        self._stripe, self._clock, self._grace, self._settle_s = stripe, clock, grace, settle_s
        self._query_timeout_s = query_timeout_s

    async def workspace_ids(self) -> list[str]:
        """Every workspace the record knows."""
        async with self._uow.read() as session:
            return await repo.workspace_ids(session)

    async def verify_all(self, concurrency: int = 8) -> list[Violation]:
        """Every workspace's violations, sorted."""
        ids = await self.workspace_ids()
        gate = asyncio.Semaphore(concurrency)

        async def one(ws: str) -> list[Violation]:
            async with gate:
                return await self.verify(ws)

        found = await asyncio.gather(*(one(ws) for ws in ids))
        return sorted(v for vs in found for v in vs)

    async def verify(self, workspace_id: str) -> list[Violation]:
        """The workspace's violations (empty: every promise holds)."""
        found = await self._against_workflow(workspace_id)
        if found:  # a decision may have been mid-write: read both sides again once
            await asyncio.sleep(self._settle_s)
            found = await self._against_workflow(workspace_id)
        return sorted(found + await self._charges(workspace_id) + await self._outbound(workspace_id))

    async def _state(self, workspace_id: str) -> BillingState | None:
        client: TenureClient = await self._clients()
        try:
            return await asyncio.wait_for(client.state(workspace_id), self._query_timeout_s)
        except TenureError as refused:
            if refused.code == "not_found":
                return None
            if refused.code in _BUSY:  # the client's own mapping of a query timeout or overload
                raise TimeoutError(refused.message) from refused
            raise

    async def _against_workflow(self, ws: str) -> list[Violation]:
        try:
            state = await self._state(ws)
        except (RPCError, TimeoutError) as silent:
            # A workflow that cannot answer (its worker busy or gone, its task failing) is
            # reported, and the other workspaces are still checked.
            reason = silent.message if isinstance(silent, RPCError) else str(silent) or "query timed out"
            return [Violation(ws, "workflow", f"the workflow does not answer: {reason}")]
        async with self._uow.read() as session:
            audit = await repo.audit(session, ws)
            stored = await records_repo.stored_subscription(session, ws)
            deleted = await repo.deleted_at(session, ws)
            members = await repo.members(session, ws)
            entitled = await repo.entitlement_row(session, ws)
        if state is None:
            if stored is not None:
                return [Violation(ws, "projection", "a subscriptions row but no workflow")]
            return []
        found = commands_vs_state(ws, audit, list(state.processed))
        found += projection_vs_state(ws, stored, state)
        if deleted is None and state.deleted_at is None:  # the roster is gone after "delete everything"
            found += roster_vs_state(ws, members, state)
        found += entitlements_vs_state(
            ws, entitled, state, self._catalog_for(state.catalog_name), self._clock()
        )
        return found

    async def _charges(self, ws: str) -> list[Violation]:
        if self._stripe is None:
            return []
        async with self._uow.read() as session:
            invoices = await repo.invoices(session, ws)
            customers = await repo.stripe_customers(session, ws)
        seen = [s for c in customers for s in await self._stripe(c)]
        return charges(ws, invoices, seen)

    async def _outbound(self, ws: str) -> list[Violation]:
        now = self._clock()
        async with self._uow.read() as session:
            sequences = await repo.event_sequences(session, ws)
            outbox = await repo.outbox(session, ws)
            endpoints = await repo.endpoints(session)
            events = await repo.events(session, ws) if endpoints else []
            delivered = await repo.delivered(session, ws) if endpoints else []
        found = event_gaps(ws, sequences) + unsent_email(ws, outbox, now, self._grace)
        return found + webhook_deliveries(ws, endpoints, events, delivered, now, self._grace)


def stripe_lister(settings: Settings) -> StripeLister | None:
    """Lists invoices at the Stripe the settings name (None without a key: charges are not checked)."""
    if settings.stripe_api_key is None:
        return None
    client = stripe_client(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)

    async def listed(customer_id: str) -> list[StripeInvoiceSeen]:
        return await list_stripe_invoices(client, customer_id)

    return listed


def verify_service(settings: Settings, engine: AsyncEngine, clients: ClientSource) -> VerifyService:
    """The checker of a deployment: its database, Temporal, Stripe and catalogs."""
    default = load_catalog(settings.catalog)
    catalogs = {default.name: default}

    def catalog_for(name: str) -> Catalog:
        if name not in catalogs:
            catalogs[name] = load_catalog(name)
        return catalogs[name]

    return VerifyService(UnitOfWork(session_factory(engine)), clients, catalog_for, stripe_lister(settings))

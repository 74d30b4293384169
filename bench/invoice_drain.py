"""What the invoice storm measures while its invoices drain: PostgreSQL, the emulator, Stripe."""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import stripe
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.payments import STRIPE_API_KEY
from bench.stack import log

POLL_S = 0.5


@dataclass(frozen=True)
class Drain:
    """What the database said while the invoices drained, in seconds after W."""

    rows: int
    paid: int
    paid_after_s: list[float]  # completion instants (``updated_at`` of paid rows), sorted
    posted_after_s: list[float]  # ``created_at`` of every row, sorted
    timed_out: bool


async def emulator_stats(url: str) -> dict[str, int]:
    """``GET /_emulator/stats``: requests seen and 429s of the rate limiter."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(f"{url}/_emulator/stats")
        response.raise_for_status()
        body = response.json()
    return {"requests": int(body["requests"]), "rate_limited": int(body["rate_limited"])}


async def watch_drain(engine: AsyncEngine, tag: str, count: int, w: datetime, timeout_s: float) -> Drain:
    """Poll the invoices table until ``count`` invoices of this run are paid (or time runs out)."""
    pattern = f"storm-{tag}-%"
    deadline = time.monotonic() + timeout_s
    last_logged = 0.0
    paid = rows = 0
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT count(*), count(*) FILTER (WHERE status = 'paid') "
                    "FROM invoices WHERE workspace_id LIKE :pattern"
                ),
                {"pattern": pattern},
            )
            rows, paid = result.one()
        if paid >= count:
            break
        if time.monotonic() - last_logged >= 5:
            after = (datetime.now(UTC) - w).total_seconds()
            log(f"  W{after:+.0f} s: {rows} invoices posted, {paid} paid")
            last_logged = time.monotonic()
        await asyncio.sleep(POLL_S)
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT status, created_at, updated_at FROM invoices WHERE workspace_id LIKE :pattern"),
            {"pattern": pattern},
        )
        found = result.all()
    return Drain(
        rows=len(found),
        paid=sum(1 for r in found if r.status == "paid"),
        paid_after_s=sorted((r.updated_at - w).total_seconds() for r in found if r.status == "paid"),
        posted_after_s=sorted((r.created_at - w).total_seconds() for r in found),
        timed_out=paid < count,
    )


def steady_rate(paid_after_s: list[float]) -> float | None:
    """Completions per second between the 10th and the 90th percentile of completions: the
    drain without its ramp-up (renewals and postings still arriving) and its tail."""
    n = len(paid_after_s)
    lo, hi = round(0.1 * (n - 1)), round(0.9 * (n - 1))
    span = paid_after_s[hi] - paid_after_s[lo] if n >= 10 else 0.0
    return (hi - lo) / span if span > 0 else None


async def stripe_duplicates(url: str, tag: str) -> dict[str, int]:
    """Count Stripe's invoices and ``invoice.paid`` events per our invoice number (read through
    the SDK once the drain is over; retries ride out the emulator's rate limit)."""
    client = stripe.StripeClient(STRIPE_API_KEY, base_addresses={"api": url}, max_network_retries=8)
    prefix = f"storm-{tag}-"
    invoices: collections.Counter[str] = collections.Counter()
    paid_invoices = 0
    page = await client.v1.invoices.list_async({"limit": 100})
    async for invoice in page.auto_paging_iter():
        number = str(invoice.to_dict().get("metadata", {}).get("number", ""))
        if number.startswith(prefix):
            invoices[number] += 1
            paid_invoices += invoice.status == "paid"
    events: collections.Counter[str] = collections.Counter()
    page_events = await client.v1.events.list_async({"type": "invoice.paid", "limit": 100})
    async for event in page_events.auto_paging_iter():
        number = str(event.to_dict()["data"]["object"].get("metadata", {}).get("number", ""))
        if number.startswith(prefix):
            events[number] += 1
    return {
        "stripe_invoices": sum(invoices.values()),
        "stripe_invoices_paid": paid_invoices,
        "stripe_numbers": len(invoices),
        "stripe_duplicate_invoices": sum(c - 1 for c in invoices.values()),
        "invoice_paid_events": sum(events.values()),
        "duplicate_invoice_paid_events": sum(c - 1 for c in events.values()),
    }

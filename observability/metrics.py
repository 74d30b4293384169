"""Tenure's own Prometheus metrics: one registry, every metric named and documented here.

docs/operations.md lists each metric and the alerts on it. Labels are bounded sets only
(command kinds, error codes, statuses, outcomes, Stripe event types): never a workspace,
invoice or member id, so a series count does not grow with the customers. Call sites add one
line each; nothing here touches the database or Temporal.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

P = ParamSpec("P")
R = TypeVar("R")

# A process-wide registry of ours rather than the global default: tests and the worker serve
# exactly Tenure's families, and the default one's process collectors are added explicitly.
REGISTRY = CollectorRegistry(auto_describe=True)

# Commands are Updates: a round trip to Temporal and a workflow task, so tens of ms to seconds.
_COMMAND_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Stripe retries deliveries for days; the lag of interest spans seconds to hours.
_LAG_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0)

COMMANDS = Counter(
    "tenure_commands",
    "Commands sent to subscriptions, by kind and outcome (accepted, refused, error) and refusal code.",
    ["kind", "outcome", "code"],
    registry=REGISTRY,
)
COMMAND_LATENCY = Histogram(
    "tenure_command_duration_seconds",
    "Time from sending a command's Update to its answer, by kind and outcome.",
    ["kind", "outcome"],
    buckets=_COMMAND_BUCKETS,
    registry=REGISTRY,
)
DECISIONS = Counter(
    "tenure_decisions_recorded",
    "Decision records written by the record_decision activity, by whether they changed the roster.",
    ["outcome"],
    registry=REGISTRY,
)
INVOICE_MOVES = Counter(
    "tenure_invoice_status_changes",
    "Invoices entering a status (unpaid, paid, overdue, void...) as recorded by the activities.",
    ["status"],
    registry=REGISTRY,
)
PAYMENT_ATTEMPTS = Counter(
    "tenure_payment_attempts",
    "Collection attempts of an invoice (dunning included), by outcome (paid, void, declined).",
    ["outcome"],
    registry=REGISTRY,
)
STRIPE_EVENTS_RECEIVED = Counter(
    "tenure_stripe_events_received",
    "Signed Stripe webhook events received, by type and whether it was a redelivery.",
    ["type", "duplicate"],
    registry=REGISTRY,
)
STRIPE_EVENTS_APPLIED = Counter(
    "tenure_stripe_events_applied",
    "Stripe events handed to their invoice's collection (applied) or kept unapplied (ignored).",
    ["type", "status"],
    registry=REGISTRY,
)
STRIPE_EVENT_LAG = Histogram(
    "tenure_stripe_event_lag_seconds",
    "From a Stripe event's creation (its `created`) to Tenure storing it.",
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
USAGE_EVENTS = Counter(
    "tenure_usage_events_ingested",
    "Usage events received by the ingest service, by whether they were new or duplicates.",
    ["result"],
    registry=REGISTRY,
)
EMAILS = Counter(
    "tenure_emails",
    "E-mails the relay handled, by outcome (sent, retry, failed, unavailable).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "tenure_webhook_deliveries",
    "Outbound webhook delivery attempts, by outcome (delivered, http_4xx, http_5xx, error).",
    ["outcome"],
    registry=REGISTRY,
)
WEBHOOK_ENDPOINTS_FAILING = Counter(
    "tenure_webhook_endpoints_marked_failing",
    "Outbound webhook endpoints marked failing after the retry horizon.",
    registry=REGISTRY,
)
ENTITLEMENT_CHECKS = Counter(
    "tenure_entitlement_checks",
    "Entitlement checks answered, by result (allowed, denied).",
    ["result"],
    registry=REGISTRY,
)
STRIPE_QUEUE_BACKLOG = Gauge(
    "tenure_stripe_queue_backlog",
    "Approximate activity tasks waiting on the Stripe task queue (Temporal's task queue stats).",
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "tenure_http_requests",
    "API requests by method, route template and status code.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "tenure_http_request_duration_seconds",
    "API request latency by method and route template.",
    ["method", "route"],
    registry=REGISTRY,
)


def observe_command(execute: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Count and time ``execute(self, workspace_id, command)``; a refusal counts under its code.

    A refusal is recognised by its ``code`` attribute (`client.TenureError`) so that this module
    imports no layer of ours.
    """

    @functools.wraps(execute)
    async def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        command: Any = args[2] if len(args) > 2 else kwargs["command"]
        kind = str(getattr(command, "kind", "unknown"))
        started = time.perf_counter()
        outcome, code = "accepted", ""
        try:
            return await execute(*args, **kwargs)
        except Exception as error:
            code = str(getattr(error, "code", "") or "")
            outcome = "refused" if code else "error"
            raise
        finally:
            COMMANDS.labels(kind, outcome, code).inc()
            COMMAND_LATENCY.labels(kind, outcome).observe(time.perf_counter() - started)

    return timed


def stripe_event_received(event_type: str, duplicate: bool, created: object) -> None:
    """Count a received Stripe event and, for a first delivery, its lag since ``created`` (epoch s)."""
    STRIPE_EVENTS_RECEIVED.labels(event_type, str(duplicate).lower()).inc()
    if not duplicate and isinstance(created, int | float):
        STRIPE_EVENT_LAG.observe(max(0.0, time.time() - float(created)))


def webhook_delivery(delivered: bool, status_code: int | None) -> None:
    """Count one outbound delivery attempt by its outcome class (never the URL)."""
    if delivered:
        outcome = "delivered"
    elif status_code is None:
        outcome = "error"
    else:
        outcome = f"http_{status_code // 100}xx"
    WEBHOOK_DELIVERIES.labels(outcome).inc()


def invoice_moved(before: str | None, after: str) -> None:
    """Count an invoice entering ``after`` (nothing when its status did not change)."""
    if before != after:
        INVOICE_MOVES.labels(after).inc()


def usage_ingested(received: int, new: int) -> None:
    """Count a usage batch: ``new`` events stored, the rest duplicates of stored ones."""
    USAGE_EVENTS.labels("new").inc(new)
    USAGE_EVENTS.labels("duplicate").inc(max(0, received - new))

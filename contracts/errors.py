"""The one error vocabulary at the edges: the domain's codes and those of the infrastructure.

The domain's codes live in `billing.errors` (the pure rules raise them); the codes below are
raised by activities, the payment port and the edges. API, CLI, client and workflows import
every code from here, so each string is written once.
"""

from __future__ import annotations

from typing import Final

from billing.errors import (
    CATALOG_INVALID,
    CONFIRMATION_MISMATCH,
    CONTRACT_SCHEDULED,
    DUPLICATE_EVENT_ID,
    FORBIDDEN,
    FREE_LIMIT_EXCEEDED,
    INVALID_ARGUMENT,
    INVALID_QUANTITY,
    INVOICE_NOT_FOUND,
    MEMBER_EXISTS,
    MEMBER_NOT_FOUND,
    NOT_ALLOWED_IN_STATUS,
    NOT_SUPPORTED,
    PLAN_NOT_FOUND,
    PLAN_NOT_SELF_SERVE,
    SEAT_ALREADY_ASSIGNED,
    SEAT_LIMIT_REACHED,
    SEAT_NOT_ASSIGNED,
    SEAT_TYPE_NOT_FOUND,
    UNKNOWN_EVENT_KIND,
    USAGE_MISSING,
    DomainError,
)

# --- raised by the database activities and the edges --------------------------------------
WORKSPACE_NOT_FOUND: Final = "workspace_not_found"
WORKSPACE_DELETED: Final = "workspace_deleted"
NOT_FOUND: Final = "not_found"  # an entity or a subscription the caller named does not exist
INVOICE_NOT_OPEN: Final = "invoice_not_open"  # no collection of the invoice is running

# --- raised by the payment port (`activities.payments.PaymentGateway`) ---------------------
CARD_DECLINED: Final = "card_declined"
STRIPE_INVALID_REQUEST: Final = "stripe_invalid_request"
STRIPE_IDEMPOTENCY_CONFLICT: Final = "stripe_idempotency_conflict"  # a bug: same key, other params
CARD_SETUP_INCOMPLETE: Final = "card_setup_incomplete"

# --- raised by the services (`services.errors`) ------------------------------------------
PAYMENT_REFUSED: Final = "payment_refused"  # Stripe refused a change the caller asked for
PAYMENTS_UNAVAILABLE: Final = "payments_unavailable"  # Stripe unreachable or not configured
ENGINE_UNAVAILABLE: Final = "engine_unavailable"  # Temporal cannot answer now

# --- raised by the client and the HTTP edge (overload, outages, idempotency keys) --------
TOO_MANY_REQUESTS: Final = "too_many_requests"  # still over a limit after retrying: 429
TEMPORARILY_UNAVAILABLE: Final = "temporarily_unavailable"  # Temporal unreachable or busy: 503
INTERNAL_ERROR: Final = "internal_error"  # a bug: logged with the request id
IDEMPOTENCY_KEY_REUSED: Final = "idempotency_key_reused"  # same key, another request: 422
IDEMPOTENCY_KEY_IN_USE: Final = "idempotency_key_in_use"  # same key, still running: 409

__all__ = [
    "CARD_DECLINED",
    "CARD_SETUP_INCOMPLETE",
    "CATALOG_INVALID",
    "CONFIRMATION_MISMATCH",
    "CONTRACT_SCHEDULED",
    "DUPLICATE_EVENT_ID",
    "ENGINE_UNAVAILABLE",
    "FORBIDDEN",
    "FREE_LIMIT_EXCEEDED",
    "IDEMPOTENCY_KEY_IN_USE",
    "IDEMPOTENCY_KEY_REUSED",
    "INTERNAL_ERROR",
    "INVALID_ARGUMENT",
    "INVALID_QUANTITY",
    "INVOICE_NOT_FOUND",
    "INVOICE_NOT_OPEN",
    "MEMBER_EXISTS",
    "MEMBER_NOT_FOUND",
    "NOT_ALLOWED_IN_STATUS",
    "NOT_FOUND",
    "NOT_SUPPORTED",
    "PAYMENTS_UNAVAILABLE",
    "PAYMENT_REFUSED",
    "PLAN_NOT_FOUND",
    "PLAN_NOT_SELF_SERVE",
    "SEAT_ALREADY_ASSIGNED",
    "SEAT_LIMIT_REACHED",
    "SEAT_NOT_ASSIGNED",
    "SEAT_TYPE_NOT_FOUND",
    "STRIPE_IDEMPOTENCY_CONFLICT",
    "STRIPE_INVALID_REQUEST",
    "TEMPORARILY_UNAVAILABLE",
    "TOO_MANY_REQUESTS",
    "UNKNOWN_EVENT_KIND",
    "USAGE_MISSING",
    "WORKSPACE_DELETED",
    "WORKSPACE_NOT_FOUND",
    "DomainError",
]

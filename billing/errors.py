"""The one error vocabulary of Tenure: a stable machine code plus a human message.

Each edge maps `DomainError` once: HTTP 4xx JSON ``{code, message, details}``,
Temporal ``ApplicationError(type=code, non_retryable=True)``, CLI exit code.
"""

from __future__ import annotations

from typing import Final

# Stable codes. Callers match on these strings; never rename one.
PLAN_NOT_FOUND: Final = "plan_not_found"
PLAN_NOT_SELF_SERVE: Final = "plan_not_self_serve"
SEAT_TYPE_NOT_FOUND: Final = "seat_type_not_found"
SEAT_LIMIT_REACHED: Final = "seat_limit_reached"
SEAT_ALREADY_ASSIGNED: Final = "seat_already_assigned"
SEAT_NOT_ASSIGNED: Final = "seat_not_assigned"
NOT_ALLOWED_IN_STATUS: Final = "not_allowed_in_status"
MEMBER_NOT_FOUND: Final = "member_not_found"
MEMBER_EXISTS: Final = "member_exists"
FREE_LIMIT_EXCEEDED: Final = "free_limit_exceeded"
INVALID_QUANTITY: Final = "invalid_quantity"
INVALID_ARGUMENT: Final = "invalid_argument"
INVOICE_NOT_FOUND: Final = "invoice_not_found"
CONFIRMATION_MISMATCH: Final = "confirmation_mismatch"
UNKNOWN_EVENT_KIND: Final = "unknown_event_kind"
CATALOG_INVALID: Final = "catalog_invalid"
DUPLICATE_EVENT_ID: Final = "duplicate_event_id"
FORBIDDEN: Final = "forbidden"
NOT_SUPPORTED: Final = "not_supported_by_catalog"
USAGE_MISSING: Final = "usage_missing"
CONTRACT_SCHEDULED: Final = "contract_scheduled"


class DomainError(Exception):
    """A rule of the product refused a command. Nothing was changed.

    Attributes:
        code: stable machine-readable code (one of the constants above).
        message: a sentence for people.
        details: structured context (ids, limits) for clients.
    """

    def __init__(self, code: str, message: str, details: dict[str, object] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details: dict[str, object] = details or {}

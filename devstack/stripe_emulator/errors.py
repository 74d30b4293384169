"""Stripe's JSON error envelope and the helpers that raise it.

The SDK picks its exception class from the HTTP status and ``error.type``
(400/404 -> ``InvalidRequestError``, 402 -> ``CardError``, 401 ->
``AuthenticationError``, 429 -> ``RateLimitError``, ``idempotency_error`` ->
``IdempotencyError``), so both must match what real Stripe sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

JSON = dict[str, object]

DOC_BASE = "https://docs.stripe.com/error-codes"


@dataclass(eq=False)  # eq=False keeps exceptions hashable (tracebacks rely on it)
class StripeError(Exception):
    """An API error answered with Stripe's envelope ``{"error": {...}}``."""

    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    decline_code: str | None = None
    extra: JSON = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def body(self) -> JSON:
        """Return the JSON body real Stripe would send for this error."""
        return {"error": self.payload()}

    def payload(self) -> JSON:
        """Return the inner ``error`` object (also used as ``last_setup_error``)."""
        error: JSON = {"type": self.type, "message": self.message}
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOC_BASE}/{self.code.replace('_', '-')}"
        if self.param is not None:
            error["param"] = self.param
        if self.decline_code is not None:
            error["decline_code"] = self.decline_code
        error.update(self.extra)
        return error


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> StripeError:
    """Build a 400 ``invalid_request_error``.

    Args:
        message: the human message.
        param: the offending parameter, in Stripe's bracket notation.
        code: Stripe's machine code, when real Stripe sends one.
        status: HTTP status (400 unless stated).

    Returns:
        The error, ready to raise.
    """
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def no_such(kind: str, object_id: str, *, param: str = "id", in_path: bool = True) -> StripeError:
    """Build the ``resource_missing`` error for an unknown id.

    Real Stripe answers 404 when the object is named in the URL, and 400 when it is
    referenced from a body parameter (e.g. ``customer`` on an invoice item).

    Args:
        kind: the object name used in the message (``customer``, ``invoice``...).
        object_id: the id that was not found.
        param: the parameter that named it.
        in_path: True when the id came from the URL path.

    Returns:
        The error, ready to raise.
    """
    return StripeError(
        404 if in_path else 400,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
    )


def card_declined(message: str = "Your card was declined.", *, extra: JSON | None = None) -> StripeError:
    """Build the 402 ``card_error`` of a generic decline.

    Args:
        message: the human message.
        extra: additional error fields (``payment_method``, ``setup_intent``...).

    Returns:
        The error, ready to raise.
    """
    return StripeError(
        402,
        "card_error",
        message,
        code="card_declined",
        decline_code="generic_decline",
        extra=dict(extra or {}),
    )


def unknown_parameter(param: str) -> StripeError:
    """Build the 400 Stripe sends for a parameter the endpoint does not take.

    Args:
        param: the unknown top-level parameter name.

    Returns:
        The error, ready to raise.
    """
    return invalid_request(
        f"Received unknown parameter: {param} (or the Tenure Stripe emulator does not implement it)",
        param=param,
        code="parameter_unknown",
    )


def idempotency_error(message: str, *, status: int = 400) -> StripeError:
    """Build an ``idempotency_error`` (400 on reuse, 409 while in flight).

    Args:
        message: the human message.
        status: 400 for a key reused with other parameters, 409 for concurrency.

    Returns:
        The error, ready to raise.
    """
    return StripeError(status, "idempotency_error", message)

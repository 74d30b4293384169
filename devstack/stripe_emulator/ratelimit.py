"""Stripe's global request rate limit, when the emulator is asked to enforce one.

Real Stripe refuses requests beyond a per-account rate (100 requests/s in live mode, 25 in
a sandbox) with a 429. Benchmarks turn this on to see what a burst of collections does
against that limit; tests and development leave it off (``rate_limit_per_second=None``).

The limiter is a token bucket per API key (the emulator's stand-in for an account) holding
one second of requests, refilled continuously from a monotonic clock, so a wall-clock jump
neither grants nor takes away requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from devstack.stripe_emulator.errors import StripeError

# Real Stripe's wording for its rate limiter's refusal.
RATE_LIMIT_MESSAGE = (
    "Request rate limit exceeded. You can learn more about rate limits here "
    "https://stripe.com/docs/rate-limits."
)


def rate_limited() -> StripeError:
    """Build the 429 real Stripe sends when an account goes over its request rate.

    ``Stripe-Should-Retry: true`` is what makes the SDK retry a 429 (with the same
    idempotency key); ``Stripe-Rate-Limited-Reason`` names the limiter, as Stripe does.

    Returns:
        The error, ready to answer.
    """
    return StripeError(
        429,
        "invalid_request_error",
        RATE_LIMIT_MESSAGE,
        code="rate_limit",
        headers={"Stripe-Should-Retry": "true", "Stripe-Rate-Limited-Reason": "global-rate"},
    )


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets per API key: capacity = rate (one second of burst), refill = rate/s.

    Attributes:
        rate_per_second: allowed requests per second per key; None means unlimited.
        clock: monotonic seconds (tests may pass a fake).
    """

    rate_per_second: float | None
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rate_per_second is not None and self.rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive (or None for no limit)")

    def allow(self, api_key: str) -> bool:
        """Take one token from ``api_key``'s bucket.

        Args:
            api_key: the request's key.

        Returns:
            False when the bucket is empty (the request must be refused), else True.
        """
        rate = self.rate_per_second
        if rate is None:
            return True
        now = self.clock()
        bucket = self._buckets.get(api_key)
        if bucket is None:
            bucket = self._buckets[api_key] = _Bucket(tokens=rate, updated=now)
        bucket.tokens = min(rate, bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def clear(self) -> None:
        """Refill every bucket (a reset emulator starts with a full second of burst)."""
        self._buckets.clear()


@dataclass
class RequestStats:
    """What ``GET /_emulator/stats`` reports: ``/v1`` requests seen and how many were refused
    by the rate limiter (injected ``429`` faults are not counted: the request log has them)."""

    requests: int = 0
    rate_limited: int = 0

    def to_json(self) -> dict[str, object]:
        """Return the control-API view."""
        return {"requests": self.requests, "rate_limited": self.rate_limited}

    def clear(self) -> None:
        """Zero both counters."""
        self.requests = 0
        self.rate_limited = 0

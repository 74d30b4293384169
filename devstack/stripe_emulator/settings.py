"""Knobs of one emulator instance. Defaults suit fast tests."""

from __future__ import annotations

from dataclasses import dataclass

from devstack.stripe_emulator.state import API_VERSION


@dataclass(frozen=True)
class EmulatorSettings:
    """Configuration of one emulator app.

    Attributes:
        api_version: the only ``Stripe-Version`` accepted (the SDK's pinned version).
        strict_api_version: reject requests that ask for another version, so a
            silent SDK bump shows up as a failing test instead of shape drift.
        public_url: base URL for ``hosted_invoice_url``/``invoice_pdf``; by default
            the URL the request came in on.
        default_currency: invoice currency when neither the call nor items say.
        invoice_number_prefix: numbers look like ``EMU-000001``.
        webhook_backoff_s: first retry delay of a failed webhook delivery.
        webhook_backoff_factor: multiplier between consecutive retry delays.
        webhook_max_backoff_s: upper bound of one retry delay.
        webhook_max_attempts: attempts per event and endpoint before giving up.
        webhook_timeout_s: HTTP timeout of one delivery attempt.
        idempotency_key_ttl_s: age after which an idempotency key is pruned and a request
            with it runs again (Stripe prunes keys at least 24 hours old; 24 h by default).
        rate_limit_per_second: refuse ``/v1`` requests beyond this rate per API key with
            Stripe's 429 (a token bucket holding one second of requests); None (the
            default) never limits, so tests are not slowed or made flaky by it.
    """

    api_version: str = API_VERSION
    strict_api_version: bool = True
    public_url: str | None = None
    default_currency: str = "usd"
    invoice_number_prefix: str = "EMU"
    webhook_backoff_s: float = 0.2
    webhook_backoff_factor: float = 2.0
    webhook_max_backoff_s: float = 5.0
    webhook_max_attempts: int = 8
    webhook_timeout_s: float = 5.0
    rate_limit_per_second: float | None = None
    idempotency_key_ttl_s: float = 24 * 3600.0

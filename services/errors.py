"""The services' refusals that are not the domain's own rules: Stripe refused, or cannot be
reached (or is not configured), or the engine cannot be read now. They are `DomainError`s,
so every edge maps them once; the HTTP edge keeps their historical status (400 and 503)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.exceptions import ApplicationError

from activities.payments import PaymentProviderUnavailable
from contracts.errors import (
    ENGINE_UNAVAILABLE,
    PAYMENT_REFUSED,
    PAYMENTS_UNAVAILABLE,
    WORKSPACE_DELETED,
    WORKSPACE_NOT_FOUND,
    DomainError,
)

__all__ = [
    "ENGINE_UNAVAILABLE",
    "PAYMENTS_UNAVAILABLE",
    "PAYMENT_REFUSED",
    "WORKSPACE_DELETED",
    "WORKSPACE_NOT_FOUND",
    "PaymentRefused",
    "Unavailable",
    "payment_errors",
]



class PaymentRefused(DomainError):
    """Stripe refused the change (a bad tax id, an unconfirmed card): the caller's to fix."""

    def __init__(self, message: str) -> None:
        super().__init__(PAYMENT_REFUSED, message)


class Unavailable(DomainError):
    """Something we depend on cannot answer now: trying again later may work."""


@contextlib.contextmanager
def payment_errors() -> Iterator[None]:
    """The payment port's errors as the services' (a refusal names Stripe's code)."""
    try:
        yield
    except PaymentProviderUnavailable as error:
        raise Unavailable(PAYMENTS_UNAVAILABLE, f"Stripe is unavailable, try again: {error}") from None
    except ApplicationError as error:
        detail = error.details[0] if error.details and isinstance(error.details[0], dict) else {}
        raise PaymentRefused(f"{error.type}: {detail.get('message') or error.message}") from None

"""Stripe SDK objects and errors mapped into Tenure's terms, in one place.

Objects are read through ``to_dict()``, so a field a server omits is ``None`` rather than an
``AttributeError``; SDK exceptions become the payment port's error vocabulary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import stripe
from temporalio.exceptions import ApplicationError

from activities.payments import PaymentProviderUnavailable
from contracts.errors import CARD_DECLINED, STRIPE_IDEMPOTENCY_CONFLICT, STRIPE_INVALID_REQUEST
from contracts.payments import StripeInvoice, StripeSetupIntent, StripeTaxId


def instant(unix: object) -> datetime | None:
    return datetime.fromtimestamp(unix, UTC) if isinstance(unix, int) else None


def text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def object_id(value: object) -> str | None:
    """An id field that may come expanded (an object with ``id``) or as a string."""
    if isinstance(value, Mapping):
        return text(value.get("id"))
    return text(value)


def invoice_of(obj: stripe.Invoice) -> StripeInvoice:
    d = obj.to_dict()
    transitions = d.get("status_transitions") or {}
    return StripeInvoice(
        id=d["id"],
        customer=object_id(d.get("customer")) or "",
        status=d.get("status") or "draft",
        number=text(d.get("number")),
        currency=d.get("currency") or "",
        total=int(d.get("total") or 0),
        amount_remaining=int(d.get("amount_remaining") or 0),
        attempt_count=int(d.get("attempt_count") or 0),
        hosted_invoice_url=text(d.get("hosted_invoice_url")),
        invoice_pdf=text(d.get("invoice_pdf")),
        paid_at=instant(transitions.get("paid_at")),
        voided_at=instant(transitions.get("voided_at")),
        metadata={str(k): str(v) for k, v in (d.get("metadata") or {}).items()},
    )


def setup_intent_of(obj: stripe.SetupIntent) -> StripeSetupIntent:
    d = obj.to_dict()
    return StripeSetupIntent(
        id=d["id"],
        status=d.get("status") or "",
        client_secret=text(d.get("client_secret")),
        customer=object_id(d.get("customer")),
        payment_method=object_id(d.get("payment_method")),
    )


def tax_id_of(obj: stripe.TaxId) -> StripeTaxId:
    d = obj.to_dict()
    return StripeTaxId(
        id=d["id"],
        type=d.get("type") or "",
        value=d.get("value") or "",
        country=text(d.get("country")),
        created=instant(d.get("created")) or datetime.fromtimestamp(0, UTC),
    )


def declined(err: stripe.CardError) -> ApplicationError:
    payload = err.json_body.get("error", {}) if isinstance(err.json_body, dict) else {}
    details = {"code": err.code, "decline_code": payload.get("decline_code"), "message": err.user_message}
    return ApplicationError(str(err.user_message), details, type=CARD_DECLINED, non_retryable=True)


@asynccontextmanager
async def mapped_errors() -> AsyncIterator[None]:
    """SDK exceptions -> the port's errors (non-retryable refusals, retryable outages)."""
    try:
        yield
    except stripe.CardError as err:
        raise declined(err) from err
    except stripe.IdempotencyError as err:
        raise ApplicationError(str(err), type=STRIPE_IDEMPOTENCY_CONFLICT, non_retryable=True) from err
    except stripe.InvalidRequestError as err:
        details = {"code": err.code, "param": err.param, "message": err.user_message}
        raise ApplicationError(str(err), details, type=STRIPE_INVALID_REQUEST, non_retryable=True) from err
    except (stripe.RateLimitError, stripe.APIConnectionError, stripe.APIError) as err:
        raise PaymentProviderUnavailable(f"Stripe unavailable: {err}") from err
    except stripe.StripeError as err:
        # Authentication/permission errors: configuration, fixed by a deploy; keep retrying.
        raise PaymentProviderUnavailable(f"Stripe refused: {err}") from err

"""Stripe's idempotency semantics for POST requests.

The key is ``(api key, Idempotency-Key)``. The first request's status and body
are stored, errors included, and replayed for the same key and the same request;
reusing the key for a different path or different parameters is an
``idempotency_error``. Requests rejected before reaching a handler (auth,
injected faults) store nothing, so a retry after them really executes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from devstack.stripe_emulator.errors import idempotency_error
from devstack.stripe_emulator.forms import FormDict

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay."""

    status: int
    body: bytes


@dataclass
class _Entry:
    fingerprint: str
    response: StoredResponse | None  # None while the first request is in flight


def fingerprint(method: str, path: str, params: FormDict) -> str:
    """Return a digest of what makes two requests "the same" for idempotency.

    Args:
        method: HTTP method.
        path: request path.
        params: decoded parameters (order-insensitive).

    Returns:
        A hex digest.
    """
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyStore:
    """Stored responses by ``(api key, idempotency key)``."""

    def __init__(self) -> None:
        """Create an empty store."""
        self._entries: dict[tuple[str, str], _Entry] = {}

    def begin(self, api_key: str, key: str, digest: str) -> StoredResponse | None:
        """Claim a key for a request, or return the response to replay.

        Args:
            api_key: the caller's secret key.
            key: the ``Idempotency-Key`` header.
            digest: `fingerprint` of the request.

        Returns:
            The stored response to replay, or None when the request should run
            (the key is then marked in flight).

        Raises:
            StripeError: key too long (400), reused with other params (400), or
                still in flight (409, which the SDK retries).
        """
        if len(key) > MAX_KEY_LENGTH:
            raise idempotency_error(f"Idempotency keys can be at most {MAX_KEY_LENGTH} characters long.")
        entry = self._entries.get((api_key, key))
        if entry is None:
            self._entries[(api_key, key)] = _Entry(digest, None)
            return None
        if entry.fingerprint != digest:
            raise idempotency_error(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        if entry.response is None:
            raise idempotency_error(
                "There is currently another in-progress request using this Idempotent Key "
                "(that probably means you submitted twice, and the other request is still "
                "going through): " + key + ". Please try again later.",
                status=409,
            )
        return entry.response

    def finish(self, api_key: str, key: str, response: StoredResponse) -> None:
        """Store the response of a request that claimed ``key``."""
        entry = self._entries.get((api_key, key))
        if entry is not None:
            entry.response = response

    def abandon(self, api_key: str, key: str) -> None:
        """Release a claimed key whose request produced no response to keep."""
        entry = self._entries.get((api_key, key))
        if entry is not None and entry.response is None:
            del self._entries[(api_key, key)]

    def clear(self) -> None:
        """Forget every key."""
        self._entries.clear()

    def __len__(self) -> int:
        """Return how many keys are stored."""
        return len(self._entries)

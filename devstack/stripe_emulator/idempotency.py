"""Stripe's idempotency semantics for POST requests.

The key is ``(api key, Idempotency-Key)``. The first request's status and body
are stored, errors included, and replayed for the same key and the same request;
reusing the key for a different path or different parameters is an
``idempotency_error``. Requests rejected before reaching a handler (auth,
injected faults) store nothing, so a retry after them really executes; neither
does a request whose parameters fail validation (`stores_result`), as Stripe
documents ("no idempotent result is saved because no API endpoint began execution").

Keys are pruned once they are older than the store's ``ttl_s`` (Stripe: "keys are
eligible to be removed from the system automatically after they're at least 24 hours
old"); a request with a pruned key runs again as a new request. `expire` prunes on
demand, so tests can walk "the response was lost, then Stripe forgot the key".
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from devstack.stripe_emulator.errors import idempotency_error
from devstack.stripe_emulator.forms import FormDict

MAX_KEY_LENGTH = 255
DEFAULT_TTL_S = 24 * 3600.0


def stores_result(status: int, body: object) -> bool:
    """Whether Stripe keeps this response for replay.

    Parameter validation failures (a 400 ``invalid_request_error`` naming the offending
    ``param``: unknown, missing, malformed or pointing at no object) happen before the
    endpoint executes, so Stripe stores nothing and a corrected retry with the same key
    runs. Everything else is stored: successes, card declines (402), state errors such as
    "Invoice is already paid" (no ``param``) and 500s.
    """
    if status != 400 or not isinstance(body, dict):
        return True
    error = body.get("error")
    if not isinstance(error, dict):
        return True
    return not (error.get("type") == "invalid_request_error" and error.get("param"))


@dataclass(frozen=True)
class StoredResponse:
    """A response kept for replay."""

    status: int
    body: bytes


@dataclass
class _Entry:
    fingerprint: str
    response: StoredResponse | None  # None while the first request is in flight
    created: float  # the clock's time when the key was first used


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

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty store.

        Args:
            ttl_s: age after which a key is pruned (Stripe: 24 hours).
            clock: seconds, monotonic; injectable for tests of the pruning itself.
        """
        self._ttl_s = ttl_s
        self._clock = clock
        # Insertion order is age order, so pruning pops from the front only.
        self._entries: dict[tuple[str, str], _Entry] = {}

    def _prune(self) -> None:
        cutoff = self._clock() - self._ttl_s
        while self._entries:
            oldest_key, oldest = next(iter(self._entries.items()))
            if oldest.created > cutoff:
                break
            del self._entries[oldest_key]

    def expire(self, prefix: str = "") -> int:
        """Forget now every completed key starting with ``prefix`` (all by default), as if
        24 hours had passed; keys of requests still in flight stay.

        Returns:
            How many keys were forgotten.
        """
        gone = [k for k, e in self._entries.items() if k[1].startswith(prefix) and e.response is not None]
        for k in gone:
            del self._entries[k]
        return len(gone)

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
        self._prune()
        entry = self._entries.get((api_key, key))
        if entry is None:
            self._entries[(api_key, key)] = _Entry(digest, None, self._clock())
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

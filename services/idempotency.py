"""Idempotency keys as Stripe keeps them: per token, with a fingerprint, for a day.

The HTTP edge (`api.idempotency`) claims a key before running a request and stores the
response after; this service owns the transactions and the clock.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from db import idempotency_repo
from db.idempotency_repo import Claim
from services.base import Clock, utc_now

# A claimed key whose request never finished (its API process died) is free again after
# this long: longer than any request runs (the client retries commands for 10 s).
IN_FLIGHT_LOCK = timedelta(minutes=2)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same request": method, path (with query) and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))  # length-prefixed: no ambiguous joins
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Claims, answers and releases the keys of each token."""

    def __init__(self, engine: AsyncEngine, ttl: timedelta, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock

    async def claim(self, token_hash: str, key: str, fingerprint: str) -> Claim:
        """Run, replay, or refuse (another request, or still running) the key's request."""
        async with self.engine.begin() as conn:
            return await idempotency_repo.claim(
                conn,
                token_hash=token_hash,
                key=key,
                fingerprint=fingerprint,
                now=self.clock(),
                ttl=self.ttl,
                lock=IN_FLIGHT_LOCK,
            )

    async def finish(
        self, token_hash: str, key: str, status: int, content_type: str | None, body: bytes
    ) -> None:
        """Keep the response the key will answer with from now on."""
        async with self.engine.begin() as conn:
            await idempotency_repo.finish(
                conn, token_hash=token_hash, key=key, status=status, content_type=content_type, body=body
            )

    async def release(self, token_hash: str, key: str) -> None:
        """Forget the key: its request failed on our side and a retry must run again."""
        async with self.engine.begin() as conn:
            await idempotency_repo.release(conn, token_hash=token_hash, key=key)

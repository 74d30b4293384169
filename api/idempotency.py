"""`Idempotency-Key` as Stripe has it, for every POST, PUT, PATCH and DELETE of `/v1`.

A key is stored per token (the hash of the bearer token that sent it) with a fingerprint of
the request (method, path with query, body) for `idempotency_key_ttl_s` (24 h):

- the same key with the same request answers the first response again, byte for byte
  (status, content type, body), with ``Idempotent-Replayed: true``;
- the same key with another request is 422 ``idempotency_key_reused`` (nothing runs);
- the same key while its first request still runs is 409 ``idempotency_key_in_use``.

A 5xx is not stored (the retry runs again), nor are 401 (no token ran anything) and 429
(retry later); other 4xx are, as Stripe does. The key is still the command's request id
(`api.headers.request_id`), so the workflow dedups a command a second time.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import errors as codes
from db.tokens import hash_token
from services.idempotency import IdempotencyStore, fingerprint

_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_NOT_STORED = frozenset({401, 429})
_LONGEST_KEY = 255
_STATUS = {
    codes.IDEMPOTENCY_KEY_REUSED: 422,
    codes.IDEMPOTENCY_KEY_IN_USE: 409,
    codes.INVALID_ARGUMENT: 422,
}
log = logging.getLogger("tenure.api")


class Idempotency:
    """ASGI middleware: claim the key, run or replay or refuse, keep the answer."""

    def __init__(self, app: ASGIApp, ttl_s: float, max_body_bytes: int) -> None:
        self.app = app
        self.ttl = timedelta(seconds=ttl_s)
        self.max_body_bytes = max_body_bytes
        self._store: IdempotencyStore | None = None

    def store(self, scope: Scope) -> IdempotencyStore:
        """The store on the app's engine (opened in the lifespan, after this was built)."""
        if self._store is None:
            self._store = IdempotencyStore(scope["app"].state.tenure.engine, self.ttl)
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request under its key, if it has one."""
        if scope["type"] != "http" or scope["method"] not in _METHODS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key = headers.get(b"idempotency-key", b"").decode("latin-1")
        scheme, _, secret = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if not key or scheme.lower() != "bearer" or not secret.strip():
            await self.app(scope, receive, send)  # no key, or no token: authentication answers
            return
        if len(key) > _LONGEST_KEY:
            await _refuse(
                send, codes.INVALID_ARGUMENT, f"Idempotency-Key is at most {_LONGEST_KEY} characters"
            )
            return
        chunks, complete = await self._read(receive)
        replayed = _replay(chunks, complete, receive)
        if not complete:  # over the body limit: `BodyLimit` answers 413, nothing to remember
            await self.app(scope, replayed, send)
            return
        path = scope["path"] + (
            "?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""
        )
        token, store = hash_token(secret.strip()), self.store(scope)
        claim = await store.claim(token, key, fingerprint(scope["method"], path, b"".join(chunks)))
        if claim.outcome == "reused":
            message = "this Idempotency-Key was used with another request (method, path or body)"
            await _refuse(send, codes.IDEMPOTENCY_KEY_REUSED, message)
        elif claim.outcome == "in_use":
            message = "a request with this Idempotency-Key is still running; retry when it has finished"
            await _refuse(send, codes.IDEMPOTENCY_KEY_IN_USE, message)
        elif claim.outcome == "replay":
            await _send(send, claim.status, claim.content_type, claim.body, replayed=True)
        else:
            await self._run(scope, replayed, send, store, token, key)

    async def _read(self, receive: Receive) -> tuple[list[bytes], bool]:
        """The body's chunks, and whether it is whole (False: over the limit, or cut)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return chunks, False
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body_bytes:
                return chunks, False
            if not message.get("more_body", False):
                return chunks, True

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, store: IdempotencyStore, token: str, key: str
    ) -> None:
        status = 0
        content_type: str | None = None
        body: list[bytes] = []

        async def kept(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Stored before the last byte leaves: a retry arriving right after the
                    # answer finds it, never "in use".
                    await self._keep(store, token, key, status, content_type, b"".join(body))
            await send(message)

        try:
            await self.app(scope, receive, kept)
        except BaseException:
            await store.release(token, key)
            raise
        if status == 0:  # the app answered nothing (the client went away): run again next time
            await store.release(token, key)

    async def _keep(
        self,
        store: IdempotencyStore,
        token: str,
        key: str,
        status: int,
        content_type: str | None,
        body: bytes,
    ) -> None:
        if status >= 500 or status in _NOT_STORED:
            await store.release(token, key)
            return
        try:
            await store.finish(token, key, status, content_type, body)
        except Exception:
            # The answer still goes out; the key is released so a retry runs (and the
            # command's request id keeps that retry from applying twice).
            log.exception("Idempotency-Key %r: the response could not be stored", key)
            await store.release(token, key)


def _replay(chunks: list[bytes], complete: bool, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body read already, then the connection's own
    (a body not read whole still says more is coming)."""
    pending = list(chunks)

    async def replayed() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or not complete}
        return await receive()

    if not chunks:
        return receive
    return replayed


async def _refuse(send: Send, code: str, message: str) -> None:
    body = json.dumps({"code": code, "message": message, "details": {}}).encode()
    await _send(send, _STATUS[code], "application/json", body, replayed=False)


async def _send(send: Send, status: int, content_type: str | None, body: bytes, *, replayed: bool) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""The codec server: Temporal's Web UI and CLI send encrypted payloads here to read them.

Temporal's remote codec protocol: ``POST /codec/decode`` (and ``/codec/encode``, which the UI
uses for payloads a person types, such as a signal's input) with ``{"payloads": [...]}`` in
protobuf JSON (metadata values and data in base64), answered in the same form. The UI adds
``X-Namespace``; a namespace other than this deployment's is refused, its keys are not here.

Decoding shows personal data, so a caller needs a staff token (``Authorization: Bearer``,
what `temporal --codec-auth` sends) unless ``TENURE_CODEC_AUTH=none``: `tenure dev`, whose
API listens on 127.0.0.1 only, or an authenticating proxy in front. Browsers call it from the
Web UI's origin, so ``/codec/*`` answers CORS for the origins of ``TENURE_CODEC_CORS_ORIGINS``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send
from temporalio.api.common.v1 import Payload

from api.support import staff_token
from config.codec import ENCODING, EncryptionCodec, PayloadDecodeError
from config.settings import Settings
from config.temporal import payload_keys
from contracts.errors import FORBIDDEN, DomainError

log = logging.getLogger("tenure.codec")
PREFIX = "/codec"


def _base64(value: str) -> str:
    try:
        base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    return value


def _bytes(value: str) -> bytes:
    return base64.b64decode(value.replace("-", "+").replace("_", "/"))


Base64 = Annotated[str, AfterValidator(_base64)]
XNamespace = Annotated[str | None, Header(alias="X-Namespace", max_length=1000)]


class JsonPayload(BaseModel):
    """A Temporal payload in protobuf JSON: metadata values and data in base64."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[Annotated[str, Field(min_length=1, max_length=256)], Base64] = Field(default_factory=dict)
    data: Base64 = ""


class CodecPayloads(BaseModel):
    """The body of a codec request and of its answer."""

    model_config = ConfigDict(extra="forbid")

    # Optional: protobuf JSON leaves an empty list out, and the Temporal CLI sends `{}` then
    # (a 422 made it retry until its deadline).
    payloads: list[JsonPayload] = Field(default_factory=list)


def _proto(payload: JsonPayload) -> Payload:
    return Payload(metadata={k: _bytes(v) for k, v in payload.metadata.items()}, data=_bytes(payload.data))


def _json(payload: Payload) -> JsonPayload:
    metadata = {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()}
    return JsonPayload(metadata=metadata, data=base64.b64encode(payload.data).decode())


def _refused(index: int, reason: str) -> RequestValidationError:
    location = ("body", "payloads", index, "metadata", "encryption-key-id")
    return RequestValidationError([{"loc": location, "msg": reason, "type": "value_error"}])


class CodecCors:
    """CORS (Starlette's) on ``/codec/*`` only: no other endpoint is meant for browsers."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app,
            allow_origins=origins,
            allow_methods=["POST"],
            allow_headers=["content-type", "x-namespace", "authorization"],
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(PREFIX + "/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def codec_router(settings: Settings) -> APIRouter:
    """The ``/codec`` routes, with the keys of ``settings`` (read now: a bad key fails the start).

    Raises:
        PayloadKeyError: the configured keys are malformed.
    """
    keys = payload_keys(settings)
    codec = EncryptionCodec(keys) if keys else None
    namespace = settings.temporal_namespace
    dependencies = [Depends(staff_token)] if settings.codec_auth == "staff" else []
    router = APIRouter(prefix=PREFIX, tags=["codec"], dependencies=dependencies)

    def _check_namespace(given: str | None) -> None:
        if given is not None and given != namespace:
            raise DomainError(FORBIDDEN, f"this codec server holds the keys of namespace {namespace!r} only")

    @router.post("/decode", response_model=CodecPayloads)
    async def decode(body: CodecPayloads, request: Request, x_namespace: XNamespace = None) -> CodecPayloads:
        """Decrypt payloads (those not encrypted come back unchanged)."""
        _check_namespace(x_namespace)
        answer: list[JsonPayload] = []
        for index, item in enumerate(body.payloads):
            payload = _proto(item)
            if payload.metadata.get("encoding") != ENCODING:
                answer.append(item)
                continue
            if codec is None:
                raise _refused(index, "this server holds no payload keys (TENURE_PAYLOAD_KEYS)")
            try:
                answer.append(_json(codec.decrypt(payload)))
            except PayloadDecodeError as error:
                raise _refused(index, str(error)) from None
        # Who read personal data, for the record (the payloads themselves are never logged).
        log.info("codec decode: %d payloads, client %s", len(answer), request.client)
        return CodecPayloads(payloads=answer)

    @router.post("/encode", response_model=CodecPayloads)
    async def encode(body: CodecPayloads, x_namespace: XNamespace = None) -> CodecPayloads:
        """Encrypt payloads with the active key (unchanged when no key is configured)."""
        _check_namespace(x_namespace)
        if codec is None:
            return body
        return CodecPayloads(payloads=[_json(codec.encrypt(_proto(p))) for p in body.payloads])

    return router


def include_codec(app: FastAPI, settings: Settings) -> None:
    """Serve the codec server on ``app`` with its CORS."""
    app.include_router(codec_router(settings))
    origins = [o.strip() for o in settings.codec_cors_origins.split(",") if o.strip()]
    app.add_middleware(CodecCors, origins=origins)

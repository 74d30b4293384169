"""One error shape at the HTTP edge: ``{"code", "message", "details"}`` with a 4xx status."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.service import RPCError, RPCStatusCode

from contracts import errors as codes
from contracts.errors import DomainError
from observability.logs import request_id
from services.usage_batch import BatchRefused

# Domain codes whose meaning is "the thing does not exist" or "conflicts with state".
_STATUS_BY_CODE: dict[str, int] = {
    codes.PLAN_NOT_FOUND: 404,
    codes.MEMBER_NOT_FOUND: 404,
    codes.INVOICE_NOT_FOUND: 404,
    codes.NOT_ALLOWED_IN_STATUS: 409,
    codes.SEAT_LIMIT_REACHED: 409,
    codes.SEAT_ALREADY_ASSIGNED: 409,
    codes.FREE_LIMIT_EXCEEDED: 409,
    codes.CONTRACT_SCHEDULED: 409,
    codes.SEAT_TYPE_NOT_FOUND: 404,
    codes.SEAT_NOT_ASSIGNED: 409,
    codes.MEMBER_EXISTS: 409,
    codes.FORBIDDEN: 403,
    codes.NOT_FOUND: 404,
    codes.INVOICE_NOT_OPEN: 409,
    "seat_request_not_found": 404,
    codes.WORKSPACE_NOT_FOUND: 404,
    codes.WORKSPACE_DELETED: 409,
    codes.TOO_MANY_REQUESTS: 429,
    codes.TEMPORARILY_UNAVAILABLE: 503,
    codes.IDEMPOTENCY_KEY_REUSED: 422,
    codes.IDEMPOTENCY_KEY_IN_USE: 409,
    codes.INTERNAL_ERROR: 500,
}
# Statuses a client may retry after a pause: they carry ``Retry-After`` (seconds).
_RETRY_AFTER_S = 1
_RETRY_STATUSES = frozenset({429, 503})


# Stripe's refusals and outages answered as plain HTTP errors before the services existed:
# clients know them by status and message, so their body keeps the generic code.
_AS_HTTP_ERROR: dict[str, int] = {
    codes.PAYMENT_REFUSED: 400,
    codes.PAYMENTS_UNAVAILABLE: 503,
    codes.ENGINE_UNAVAILABLE: 503,
}


def domain_status(code: str) -> int:
    """The HTTP status of a domain error code (400 unless it means missing, conflict, forbidden)."""
    return _STATUS_BY_CODE.get(code, 400)


def error_response(code: str, message: str, details: dict[str, object] | None = None) -> JSONResponse:
    """The error shape with the code's status (and ``Retry-After`` on 429 and 503)."""
    status = domain_status(code)
    headers = {"Retry-After": str(_RETRY_AFTER_S)} if status in _RETRY_STATUSES else None
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def error_body(code: str, message: str, details: dict[str, object] | None = None) -> dict[str, object]:
    """The JSON body of every error response."""
    return {"code": code, "message": message, "details": details or {}}


def install_error_handlers(app: FastAPI) -> None:
    """Map domain errors, validation errors and HTTP errors to the one shape."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, error: DomainError) -> JSONResponse:
        if isinstance(error, BatchRefused):  # a malformed batch: nothing of it was read
            return JSONResponse(error_body(error.code, error.message, error.details), status_code=422)
        if error.code in _AS_HTTP_ERROR:
            status = _AS_HTTP_ERROR[error.code]
            return JSONResponse(error_body("http_error", error.message), status_code=status)
        return error_response(error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
            for e in error.errors()
        ]
        body = error_body(codes.INVALID_ARGUMENT, "the request is invalid", {"errors": problems})
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {
            401: "unauthenticated",
            403: codes.FORBIDDEN,
            404: codes.NOT_FOUND,
            405: "method_not_allowed",
        }
        body = error_body(code.get(error.status_code, "http_error"), str(error.detail))
        return JSONResponse(body, status_code=error.status_code)


# A Temporal RPC that escaped the client's mapping: still the error shape, never a bare 500.
_RPC_CODES: dict[RPCStatusCode, str] = {
    RPCStatusCode.RESOURCE_EXHAUSTED: codes.TOO_MANY_REQUESTS,
    RPCStatusCode.UNAVAILABLE: codes.TEMPORARILY_UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED: codes.TEMPORARILY_UNAVAILABLE,
    RPCStatusCode.ABORTED: codes.TEMPORARILY_UNAVAILABLE,
    RPCStatusCode.CANCELLED: codes.TEMPORARILY_UNAVAILABLE,
}


def _unreachable(error: Exception) -> bool:
    # The SDK's first connection raises a plain RuntimeError("Failed client connect: ...").
    return isinstance(error, RuntimeError) and str(error).startswith("Failed client connect")


def _database_gone(error: Exception) -> bool:
    # PostgreSQL restarting or unreachable (connection refused, closed under a query): worth
    # a retry later, as Temporal unreachable is (with the same Idempotency-Key, applied once).
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a JSON error, never Starlette's
    plain-text 500. Temporal unreachable or overloaded is 503/429 (retry later); anything
    else is 500 ``internal_error`` naming the request id, with the traceback in the log.

    Installed inside `RequestContext` so the request id is still known here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("tenure.api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; answer in the error shape if it raised before responding."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as error:
            if started:  # too late for another answer: the connection is cut
                raise
            response = self._answer(error)
            await response(scope, receive, send)

    def _answer(self, error: Exception) -> JSONResponse:
        if isinstance(error, RPCError) and error.status in _RPC_CODES:
            self.log.warning("Temporal refused: %s", error.message)
            return error_response(_RPC_CODES[error.status], f"the engine cannot answer now: {error.message}")
        if _unreachable(error) or isinstance(error, RPCError):
            self.log.warning("Temporal unreachable: %s", error)
            return error_response(codes.TEMPORARILY_UNAVAILABLE, "the engine cannot be reached now")
        if _database_gone(error):
            self.log.warning("database unreachable: %s", error)
            return error_response(codes.TEMPORARILY_UNAVAILABLE, "the database cannot be reached now")
        rid = request_id.get()
        self.log.exception("unhandled error in request %s", rid)
        message = f"an unexpected error; quote request id {rid} to support"
        return error_response(codes.INTERNAL_ERROR, message, {"request_id": rid})

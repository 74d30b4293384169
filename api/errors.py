"""One error shape at the HTTP edge: ``{"code", "message", "details"}`` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts import errors as codes
from contracts.errors import DomainError
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
}


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
        status = domain_status(error.code)
        return JSONResponse(error_body(error.code, error.message, error.details), status_code=status)

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

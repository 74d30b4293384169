"""Bearer-token authentication of backend services (tokens from `tenure tokens create`).

Only the token's hash is stored; a revoked or unknown token is a 401. Which acting user may
change billing (the organization admin rule) is decided per endpoint on top of this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.state import AppState
from billing.errors import FORBIDDEN, DomainError
from db.engine import session_factory
from db.models import ApiToken
from db.tokens import find_active


async def authenticated(request: Request) -> ApiToken:
    """The active token presented as ``Authorization: Bearer <token>``."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "send Authorization: Bearer <token> (`tenure tokens create` makes one)")
    state: AppState = request.app.state.tenure
    async with session_factory(state.engine)() as session:
        token = await session.run_sync(lambda sync: find_active(sync, secret.strip()))
    if token is None:
        raise HTTPException(401, "unknown or revoked token")
    return token


def service_only(what: str) -> Callable[[ApiToken], Awaitable[ApiToken]]:
    """A dependency: the presented token, if it is a service token (staff and other scopes
    get ``forbidden``, naming ``what`` needs one)."""

    async def service_token(token: Annotated[ApiToken, Depends(authenticated)]) -> ApiToken:
        if token.scope != "service":
            raise DomainError(FORBIDDEN, f"{what} with a service token")
        return token

    return service_token


def actor_of(token: ApiToken, acting_user: str | None) -> str:
    """The person acting, or the calling service when no person is named."""
    return acting_user or f"service:{token.name}"

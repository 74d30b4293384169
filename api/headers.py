"""Request headers shared by the `/v1` endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header

from billing.commands import STAFF_PREFIX
from billing.errors import FORBIDDEN, DomainError


def _acting_user(
    acting_user: Annotated[str, Header(alias="X-Acting-User", min_length=1, max_length=200)],
) -> str:
    # The domain lets "staff:<login>" actors past the role check: only a staff token on the
    # /v1/support endpoints may act as staff, never a service naming itself so.
    if acting_user.startswith(STAFF_PREFIX):
        raise DomainError(FORBIDDEN, "staff act through /v1/support with a staff token")
    return acting_user


# The member acting (their role is checked for billing changes); recorded as the actor.
ActingUser = Annotated[str, Depends(_acting_user)]
# The caller's key for a POST: it becomes the command's request id, so a retry of the same
# request returns the first result and changes nothing.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]


def request_id(key: str | None) -> str:
    """The command's request id: the caller's idempotency key, or a fresh one."""
    return key or uuid.uuid4().hex

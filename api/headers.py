"""Request headers shared by the `/v1` endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header

# The member acting (their role is checked for billing changes); recorded as the actor.
ActingUser = Annotated[str, Header(alias="X-Acting-User", min_length=1, max_length=200)]
# The caller's key for a POST: it becomes the command's request id, so a retry of the same
# request returns the first result and changes nothing.
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)]


def request_id(key: str | None) -> str:
    """The command's request id: the caller's idempotency key, or a fresh one."""
    return key or uuid.uuid4().hex

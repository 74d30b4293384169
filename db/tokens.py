"""Bearer tokens: generated once, shown once, stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ApiToken

SCOPES = ("service", "staff")
_PREFIX = "tnr_"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret is only ever available here."""

    id: str
    name: str
    scope: str
    secret: str


def hash_token(secret: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(session: Session, name: str, scope: str) -> IssuedToken:
    """Create a token; the caller commits.

    Raises:
        ValueError: unknown scope or empty name.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if not name.strip():
        raise ValueError("a token needs a name (who or what uses it)")
    token_id = secrets.token_hex(8)
    secret = _PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(id=token_id, name=name.strip(), token_hash=hash_token(secret), scope=scope))
    return IssuedToken(id=token_id, name=name.strip(), scope=scope, secret=secret)


def list_tokens(session: Session) -> list[ApiToken]:
    """All tokens, newest first (hashes only)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))


def revoke(session: Session, token_id: str, at: datetime | None = None) -> bool:
    """Mark a token revoked; returns False when no such active token exists."""
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = at or datetime.now(UTC)
    return True


def find_active(session: Session, secret: str) -> ApiToken | None:
    """The active token matching a presented secret, if any."""
    found = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if found is None or found.revoked_at is not None:
        return None
    return found

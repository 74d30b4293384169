"""The billing page's credentials: single-use links and the session cookie they open.

Issue 16's portal: a backend asks for a link for one member of one workspace; the member's
browser follows it once and gets a short-lived session cookie scoped to that workspace and
member; every form the page serves carries a CSRF token bound to that session.

- **Link token**: 32 random bytes, URL-safe. Only its SHA-256 is stored (a leaked table
  opens nothing); single use is the store's job (an update that succeeds once).
- **Session cookie**: ``<payload>.<mac>``, both base64url; the payload is JSON with the
  workspace, the member, the expiry (epoch seconds) and the CSRF token; the MAC is
  HMAC-SHA256 under the portal secret. It is verified in constant time before the payload is
  read, and refused when expired or for another workspace than the page asked for.
- **CSRF**: the synchroniser-token pattern without server state: the token is inside the
  signed cookie, and a form's hidden field must equal it (constant-time). SameSite=Lax on the
  cookie is the second layer, not the only one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=1)
COOKIE_NAME = "tenure_portal"
MIN_SECRET_BYTES = 32


class PortalCredentialError(ValueError):
    """A link, cookie or form token that opens nothing (the page answers 403)."""


@dataclass(frozen=True)
class PortalSession:
    """Who the cookie speaks for, on which workspace, until when."""

    workspace_id: str
    user: str
    expires_at: datetime
    csrf: str
    return_url: str | None = None


def new_link_token() -> tuple[str, str]:
    """A fresh link token and the digest to store for it."""
    token = secrets.token_urlsafe(32)
    return token, link_digest(token)


def link_digest(token: str) -> str:
    """What the store keeps of a link token (and looks it up by)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Signs and verifies session cookies under one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the portal secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest())

    def issue(
        self, workspace_id: str, user: str, now: datetime, return_url: str | None = None
    ) -> tuple[str, PortalSession]:
        """A cookie value for ``user`` on ``workspace_id``, valid `SESSION_LIFETIME` from ``now``
        (``return_url``: where the page's Back link goes)."""
        expires_at = now + SESSION_LIFETIME
        session = PortalSession(workspace_id, user, expires_at, secrets.token_urlsafe(24), return_url)
        document = {
            "w": workspace_id,
            "u": user,
            "exp": int(session.expires_at.timestamp()),
            "c": session.csrf,
            "r": return_url,
        }
        payload = _b64(json.dumps(document, separators=(",", ":"), sort_keys=True).encode())
        return f"{payload}.{self._mac(payload)}", session

    def verify(self, cookie: str | None, workspace_id: str, now: datetime) -> PortalSession:
        """The session ``cookie`` opens on ``workspace_id`` at ``now``.

        Raises:
            PortalCredentialError: no cookie, a forged or altered one, an expired one, or one
                for another workspace.
        """
        if not cookie or cookie.count(".") != 1:
            raise PortalCredentialError("no portal session: open the page from a new link")
        payload, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise PortalCredentialError("the portal session is not valid")
        try:
            document = json.loads(_unb64(payload))
            session = PortalSession(
                workspace_id=str(document["w"]),
                user=str(document["u"]),
                expires_at=datetime.fromtimestamp(int(document["exp"]), UTC),
                csrf=str(document["c"]),
                return_url=document.get("r") if isinstance(document.get("r"), str) else None,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise PortalCredentialError("the portal session is not valid") from error
        if session.expires_at <= now:
            raise PortalCredentialError("the portal session has expired: open the page from a new link")
        if session.workspace_id != workspace_id:
            raise PortalCredentialError("this portal session is for another workspace")
        return session


def check_csrf(session: PortalSession, submitted: str | None) -> None:
    """Refuse a form whose CSRF token is not the session's."""
    if not submitted or not hmac.compare_digest(submitted, session.csrf):
        raise PortalCredentialError("the form has expired: reload the page and try again")

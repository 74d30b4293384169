"""The billing page's credentials: links stored as digests, cookies that cannot be forged,
moved to another workspace or used after they expire, forms bound to their session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.portal_tokens import (
    SESSION_LIFETIME,
    PortalCredentialError,
    SessionSigner,
    check_csrf,
    link_digest,
    new_link_token,
)

NOW = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)
SIGNER = SessionSigner(b"s" * 32)


def test_a_link_is_stored_as_its_digest_only() -> None:
    token, digest = new_link_token()
    assert digest == link_digest(token)
    assert token not in digest
    assert new_link_token()[0] != token


def test_a_cookie_opens_its_workspace_until_it_expires() -> None:
    cookie, issued = SIGNER.issue("acme", "alice", NOW)
    session = SIGNER.verify(cookie, "acme", NOW + SESSION_LIFETIME - timedelta(seconds=1))
    assert (session.user, session.csrf) == ("alice", issued.csrf)
    with pytest.raises(PortalCredentialError, match="expired"):
        SIGNER.verify(cookie, "acme", NOW + SESSION_LIFETIME)


def test_a_cookie_for_another_workspace_opens_nothing() -> None:
    cookie, _ = SIGNER.issue("acme", "alice", NOW)
    with pytest.raises(PortalCredentialError, match="another workspace"):
        SIGNER.verify(cookie, "globex", NOW)


def test_another_secret_or_no_cookie_opens_nothing() -> None:
    cookie, _ = SessionSigner(b"t" * 32).issue("acme", "alice", NOW)
    for value in (cookie, None, "", "a.b.c", "garbage"):
        with pytest.raises(PortalCredentialError):
            SIGNER.verify(value, "acme", NOW)


@given(st.integers(min_value=0), st.characters(codec="ascii", exclude_characters="."))
def test_any_altered_character_makes_the_cookie_invalid(position: int, char: str) -> None:
    cookie, _ = SIGNER.issue("acme", "alice", NOW)
    index = position % len(cookie)
    if cookie[index] == "." or cookie[index] == char:
        return
    altered = cookie[:index] + char + cookie[index + 1 :]
    with pytest.raises(PortalCredentialError):
        SIGNER.verify(altered, "acme", NOW)


def test_a_form_needs_its_sessions_csrf_token() -> None:
    _, session = SIGNER.issue("acme", "alice", NOW)
    check_csrf(session, session.csrf)
    _, other = SIGNER.issue("acme", "alice", NOW)
    for submitted in (None, "", other.csrf):
        with pytest.raises(PortalCredentialError):
            check_csrf(session, submitted)


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SessionSigner(b"short")

"""The billing page's sessions: a link for one active member, opened once, as a cookie.

The page itself changes nothing by its own rules: every change it offers goes through the
same services and the same domain checks as the API, as the member it speaks for. Whether
that member may change billing is read from the roster at every request (a role taken away
after the link was issued takes effect at once), by the one rule in `billing.authorization`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from billing.authorization import is_billing_admin
from billing.catalog import Catalog, SeatType
from billing.errors import DomainError
from billing.retention import plan_revert
from billing.workspace import RevertPlan
from contracts.errors import INVALID_ARGUMENT, MEMBER_NOT_FOUND
from db import portal_repo
from services.base import Clock, UnitOfWork
from services.entities import EntityService
from services.portal_tokens import (
    LINK_LIFETIME,
    PortalCredentialError,
    PortalSession,
    SessionSigner,
    link_digest,
    new_link_token,
)

PORTAL_DISABLED = "portal_disabled"
# What the page shows of a cancellation before it is confirmed: `billing.retention`'s plan.
RevertSummary = RevertPlan


@dataclass(frozen=True)
class PortalLink:
    """What a backend sends its member to."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class OpenedSession:
    """A link's one use: the cookie to set, and where the page's "back" goes."""

    cookie: str
    session: PortalSession
    return_url: str | None


@dataclass(frozen=True)
class Viewer:
    """Who looks at the page now, and whether the page lets them change anything."""

    user: str
    can_change: bool


def _checked_return_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError(
            INVALID_ARGUMENT, "return_url must be an absolute http(s) URL", {"field": "return_url"}
        )
    return url


class PortalService:
    def __init__(
        self,
        uow: UnitOfWork,
        entities: EntityService,
        catalog: Catalog,
        clock: Clock,
        signer: SessionSigner | None,
    ) -> None:
        self._uow = uow
        self._entities = entities
        self._catalog = catalog
        self._clock = clock
        self._signer = signer

    def _require_signer(self) -> SessionSigner:
        if self._signer is None:
            raise DomainError(PORTAL_DISABLED, "the billing page is off: set TENURE_PORTAL_SECRET")
        return self._signer

    async def _member(self, workspace_id: str, user: str) -> tuple[str | None, str | None]:
        """The member's status and role now (None, None: not a member)."""
        for member in (await self._entities.snapshot(workspace_id)).members:
            if member.user_id == user:
                return member.status, member.role
        return None, None

    async def create_link(
        self, workspace_id: str, user: str, return_url: str | None, base_url: str
    ) -> PortalLink:
        """A single-use link, valid `LINK_LIFETIME`, for ``user`` (an active member), on
        ``base_url`` (the API as the member's browser reaches it).

        Raises:
            DomainError: ``portal_disabled``, ``workspace_not_found``, ``member_not_found``
                (not an active member) or ``invalid_argument`` (the return URL).
        """
        self._require_signer()
        checked = _checked_return_url(return_url)
        status, _ = await self._member(workspace_id, user)
        if status != "active":
            raise DomainError(
                MEMBER_NOT_FOUND, f"{user!r} is not an active member of {workspace_id!r}", {"field": "user"}
            )
        token, digest = new_link_token()
        now = self._clock()
        expires_at = now + LINK_LIFETIME
        async with self._uow.write() as session:
            await portal_repo.insert_link(session, digest, workspace_id, user, checked, now, expires_at)
        return PortalLink(f"{base_url.rstrip('/')}/billing/{workspace_id}/enter?token={token}", expires_at)

    async def open_link(self, workspace_id: str, token: str) -> OpenedSession:
        """Use a link (once) and open its session.

        Raises:
            PortalCredentialError: unknown, used, expired, or for another workspace.
        """
        signer = self._require_signer()
        now = self._clock()
        async with self._uow.write() as session:
            claimed = await portal_repo.claim_link(session, link_digest(token), workspace_id, now)
        if claimed is None:
            raise PortalCredentialError("this link has expired or was used already: ask for a new one")
        cookie, opened = signer.issue(claimed.workspace_id, claimed.user_id, now, claimed.return_url)
        return OpenedSession(cookie, opened, claimed.return_url)

    def session(self, cookie: str | None, workspace_id: str) -> PortalSession:
        """The session a request's cookie opens on ``workspace_id``.

        Raises:
            PortalCredentialError: no valid session for that workspace.
        """
        return self._require_signer().verify(cookie, workspace_id, self._clock())

    async def viewer(self, session: PortalSession) -> Viewer:
        """Whether the session's member may change billing now (read-only otherwise)."""
        status, role = await self._member(session.workspace_id, session.user)
        if status is None:
            raise PortalCredentialError("you are no longer a member of this workspace")
        admin = is_billing_admin(status, role, self._catalog.roles.billing_admin)
        return Viewer(session.user, admin)

    async def revert_summary(self, workspace_id: str, at: datetime | None) -> RevertSummary | None:
        """What the revert to the free tier will do if it ran at ``at`` (a cancellation's end),
        decided by the rule the revert itself applies; None: nothing ends, or no free tier."""
        if at is None or self._catalog.free_plan is None:
            return None
        snapshot = await self._entities.snapshot(workspace_id)
        return plan_revert(
            snapshot,
            at,
            self._catalog.retention,
            frozenset(self._catalog.roles.billing_admin),
            limits=self._catalog.free_limits(),
        )

    def seat_types(self) -> list[SeatType]:
        """The paid seat types a billing admin may assign, cheapest first."""
        paid = [t for t in self._catalog.seat_types.values() if t.paid]
        return sorted(paid, key=lambda t: t.monthly_price)

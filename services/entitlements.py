"""Entitlements, read from the PostgreSQL projection the decision record keeps (issue 15).

Never a Temporal query: the workflow wrote what its subscription grants with its last
decision (`activities.entitlements`); the counts only the database knows are read here. A
check is one statement over primary keys (`db.entitlement_checks`), and the answer is the pure
rule's (`billing.entitlements.check_feature` / `check_limit`). The check also answers
for the caller's token in that statement (see `check`): it is the one hot path.
"""

from __future__ import annotations

from billing.catalog import Catalog
from billing.entitlements import catalog_features, check_feature, check_limit
from billing.errors import INVALID_ARGUMENT, DomainError
from contracts.entitlements import CheckResult, EntitlementCheck, Entitlements
from db import entitlement_repo
from db.entitlement_checks import CheckReader
from services.base import NOT_FOUND, Clock, UnitOfWork


class EntitlementService:
    def __init__(self, uow: UnitOfWork, checks: CheckReader, catalog: Catalog, clock: Clock) -> None:
        self._uow = uow
        self._checks = checks
        self._clock = clock
        self.features = catalog_features(catalog)

    async def entitlements(self, workspace_id: str) -> Entitlements:
        """The workspace's entitlements, counts as of now.

        Raises:
            DomainError: ``not_found``: no workspace, or no decision recorded yet.
        """
        async with self._uow.read() as session:
            found = await entitlement_repo.view(session, workspace_id, self._clock())
        if found is None:
            await self._missing(workspace_id)
        assert found is not None
        return found

    async def check(
        self, workspace_id: str, request: EntitlementCheck, token_hash: str
    ) -> CheckResult | None:
        """May the workspace use ``request.feature`` / add ``request.quantity`` of ``request.limit``?

        One round trip answers for the caller's token too (`db.entitlement_checks`): None
        means the token (``token_hash``, `db.tokens.hash_token`) is unknown or revoked.

        Raises:
            DomainError: ``invalid_argument`` for a feature no plan of the catalog has;
                ``not_found`` as `entitlements`.
        """
        if request.feature is not None and request.feature not in self.features:
            raise DomainError(
                INVALID_ARGUMENT,
                f"unknown feature {request.feature!r}",
                {"field": "feature", "known": sorted(self.features)},
            )
        kind = request.limit or "feature"
        token_active, active, *values = await self._checks.row(token_hash, workspace_id, kind)
        if not token_active:
            return None
        if active is None:
            await self._missing(workspace_id)
        if request.feature is not None:
            return check_feature(active, values[0], request.feature)
        limit, used = values
        return check_limit(active, limit, int(used or 0), request.quantity or 1)

    async def close(self) -> None:
        """Close the check's own connections."""
        await self._checks.close()

    async def _missing(self, workspace_id: str) -> None:
        await self._uow.require_workspace(workspace_id)
        raise DomainError(
            NOT_FOUND, f"no entitlements for {workspace_id!r} yet: its subscription has not started"
        )

"""Entitlements, read from the PostgreSQL projection the decision record keeps (issue 15).

Never a Temporal query: the workflow wrote what its subscription grants with its last
decision (`activities.entitlements`); the counts only the database knows are read here. A
check is one statement over primary keys (`db.entitlement_repo`), and the answer is the pure
rule's (`billing.entitlements.check_feature` / `check_limit`).
"""

from __future__ import annotations

from billing.catalog import Catalog
from billing.entitlements import catalog_features, check_feature, check_limit
from billing.errors import INVALID_ARGUMENT, DomainError
from contracts.entitlements import CheckResult, EntitlementCheck, Entitlements
from db import entitlement_repo
from services.base import NOT_FOUND, Clock, UnitOfWork


class EntitlementService:
    def __init__(self, uow: UnitOfWork, catalog: Catalog, clock: Clock) -> None:
        self._uow = uow
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

    async def check(self, workspace_id: str, request: EntitlementCheck) -> CheckResult:
        """May the workspace use ``request.feature`` / add ``request.quantity`` of ``request.limit``?

        Raises:
            DomainError: ``invalid_argument`` for a feature no plan of the catalog has;
                ``not_found`` as `entitlements`.
        """
        if request.feature is not None:
            if request.feature not in self.features:
                raise DomainError(
                    INVALID_ARGUMENT,
                    f"unknown feature {request.feature!r}",
                    {"field": "feature", "known": sorted(self.features)},
                )
            async with self._uow.read() as session:
                row = await entitlement_repo.feature_row(session, workspace_id)
            if row is None:
                await self._missing(workspace_id)
            assert row is not None
            return check_feature(row[0], row[1], request.feature)
        assert request.limit is not None  # EntitlementCheck holds exactly one
        async with self._uow.read() as session:
            row = await entitlement_repo.limit_row(session, workspace_id, request.limit)
        if row is None:
            await self._missing(workspace_id)
        assert row is not None
        active, limit, used = row
        return check_limit(active, limit, int(used), request.quantity or 1)

    async def _missing(self, workspace_id: str) -> None:
        await self._uow.require_workspace(workspace_id)
        raise DomainError(
            NOT_FOUND, f"no entitlements for {workspace_id!r} yet: its subscription has not started"
        )

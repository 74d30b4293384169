"""`EntitlementsClient`: the two entitlement calls over HTTP, for the product's services.

`TenureClient` speaks to Temporal and never reads PostgreSQL; entitlements are served from
the database's projection by the HTTP API, so they have their own small client. Refusals
raise `TenureError` with the API's error code (``not_found``, ``invalid_argument``,
``unauthenticated``...).

Example:
    async with EntitlementsClient("http://127.0.0.1:8000", token) as entitlements:
        if (await entitlements.check_feature("acme", "sso")).allowed:
            ...
        await entitlements.check_limit("acme", "connectors", quantity=1)
"""

from __future__ import annotations

from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from client.tenure import TenureError
from contracts.entitlements import CheckResult, EntitlementCheck, Entitlements, LimitName


class EntitlementsClient:
    """Entitlements of one Tenure deployment, through its HTTP API with a bearer token."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 10.0, http: httpx.AsyncClient | None = None
    ):
        """``http``: an existing client to share (its base URL and headers are not changed)."""
        self._own = http is None
        self._http = http or httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
        )

    async def __aenter__(self) -> EntitlementsClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (only one this client opened)."""
        if self._own:
            await self._http.aclose()

    async def entitlements(self, workspace_id: str) -> Entitlements:
        """The workspace's plan, status, ``active``, features, limits and credits."""
        answer = await self._http.get(f"/v1/workspaces/{quote(workspace_id, safe='')}/entitlements")
        return Entitlements.model_validate(self._json(answer))

    async def check(self, workspace_id: str, request: EntitlementCheck) -> CheckResult:
        """``{allowed, reason}`` for a feature or a limit (see `check_feature`, `check_limit`)."""
        answer = await self._http.post(
            f"/v1/workspaces/{quote(workspace_id, safe='')}/entitlements/check",
            content=request.model_dump_json(exclude_none=True),
            headers={"Content-Type": "application/json"},
        )
        return CheckResult.model_validate(self._json(answer))

    async def check_feature(self, workspace_id: str, feature: str) -> CheckResult:
        """May the workspace use ``feature``?"""
        return await self.check(workspace_id, EntitlementCheck(feature=feature))

    async def check_limit(self, workspace_id: str, limit: LimitName, quantity: int = 1) -> CheckResult:
        """May the workspace add ``quantity`` more of ``limit``?"""
        return await self.check(workspace_id, EntitlementCheck(limit=limit, quantity=quantity))

    @staticmethod
    def _json(answer: httpx.Response) -> Any:
        if answer.status_code >= 400:
            try:
                body = answer.json()
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            raise TenureError(
                str(body.get("code", "http_error")),
                str(body.get("message", answer.text or answer.reason_phrase)),
                {"status": answer.status_code, **(body.get("details") or {})},
            )
        return answer.json()

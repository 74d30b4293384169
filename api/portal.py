"""The billing page (issue 16): portal sessions for backends, the page for their members.

`POST /v1/workspaces/{id}/portal-sessions` (a service token) issues a single-use link for an
active member; `GET /billing/{id}/enter?token=…` uses it once, sets the session cookie
(HttpOnly, SameSite=Lax, signed, one hour, scoped to the workspace's path) and redirects to
`GET /billing/{id}`, the page, rendered on the server from the same overview the API serves.
A missing, forged, expired or reused credential, or a cookie for another workspace, is a 403
page: no workspace is reachable but the session's.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api import portal_format
from api.auth import service_only
from api.deps import ServicesDep
from api.errors import error_body
from api.state import AppState
from billing.errors import DomainError
from services import Services
from services.portal import PORTAL_DISABLED, RevertSummary
from services.portal_tokens import COOKIE_NAME, SESSION_LIFETIME, PortalCredentialError, PortalSession

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates" / "portal"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt field is an error in the tests, not a blank
)
_TEMPLATES.filters["money"] = portal_format.money
_TEMPLATES.filters["when"] = portal_format.when
_TEMPLATES.filters["day"] = portal_format.day

sessions_router = APIRouter(prefix="/v1/workspaces/{workspace_id}", tags=["billing page"])
page_router = APIRouter(prefix="/billing/{workspace_id}", include_in_schema=False)


class PortalSessionIn(BaseModel):
    user: str = Field(min_length=1, max_length=200, description="The active member the page speaks for.")
    return_url: str | None = Field(default=None, max_length=2000, description="Where Back goes.")


class PortalSessionOut(BaseModel):
    url: str
    expires_at: datetime


@sessions_router.post(
    "/portal-sessions",
    status_code=201,
    summary="A single-use link (15 minutes) to the billing page for one member",
    # A backend sends its member to the page; staff never act through it.
    dependencies=[Depends(service_only("portal links are issued"))],
    response_model=PortalSessionOut,
)
async def create_portal_session(
    workspace_id: str, body: PortalSessionIn, request: Request, services: ServicesDep
) -> PortalSessionOut | JSONResponse:
    state: AppState = request.app.state.tenure
    # The link is for a browser: the public URL when the API sits behind a proxy, else the
    # address the caller used.
    base_url = state.settings.public_url or str(request.base_url)
    try:
        link = await services.portal.create_link(workspace_id, body.user, body.return_url, base_url)
    except DomainError as error:
        if error.code == PORTAL_DISABLED:
            return JSONResponse(error_body(error.code, error.message), status_code=503)
        raise
    return PortalSessionOut(url=link.url, expires_at=link.expires_at)


def render(template: str, **context: Any) -> str:
    """One of the page's templates (``templates/portal``), with the page's filters."""
    return _TEMPLATES.get_template(template).render(**context)


def forbidden(message: str) -> HTMLResponse:
    """The 403 page: no session, or not this workspace's."""
    html = _TEMPLATES.get_template("forbidden.html.j2").render(message=message)
    return HTMLResponse(html, status_code=403)


async def render_page(
    services: Services,
    session: PortalSession,
    *,
    status: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    preview: dict[str, Any] | None = None,
    revert: RevertSummary | None = None,
) -> Response:
    """The page for ``session``'s member, with a notice, field errors or a preview to confirm."""
    try:
        viewer = await services.portal.viewer(session)
    except PortalCredentialError as refused:
        return forbidden(str(refused))
    overview = await services.overview.overview(session.workspace_id, invoice_limit=None)
    html = _TEMPLATES.get_template("page.html.j2").render(
        o=overview,
        s=overview.subscription,
        viewer=viewer,
        csrf=session.csrf,
        back=session.return_url,
        notice=notice,
        errors=errors or {},
        preview=preview,
        revert=revert,
        seat_types=services.portal.seat_types(),
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


@page_router.get("/enter")
async def enter(workspace_id: str, token: str, request: Request, services: ServicesDep) -> Response:
    try:
        opened = await services.portal.open_link(workspace_id, token)
    except (PortalCredentialError, DomainError) as refused:
        return forbidden(str(refused) if isinstance(refused, PortalCredentialError) else refused.message)
    response = RedirectResponse(f"/billing/{workspace_id}", status_code=303)
    response.set_cookie(
        COOKIE_NAME,
        opened.cookie,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=f"/billing/{workspace_id}",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@page_router.get("")
async def page(
    workspace_id: str, request: Request, services: ServicesDep, notice: str | None = None
) -> Response:
    try:
        session = services.portal.session(request.cookies.get(COOKIE_NAME), workspace_id)
    except PortalCredentialError as refused:
        return forbidden(str(refused))
    return await render_page(services, session, notice=notice)

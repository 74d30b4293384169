"""The billing page's forms: each change goes through the API's own path, as the member.

Plain HTML forms (no script needed): every POST carries the session's CSRF token, is checked
against the signed cookie, and is sent as the member the session speaks for, so the domain
decides exactly as for the API (a member who is not a billing admin gets the same
``forbidden``). Changes that cost money or take effect later are previewed first through the
quote path (the workflow's `quote` query: the exact lines and total, and the date a
downgrade or a cancellation takes effect), then confirmed; the confirmation carries the
request id the preview chose, so a double submit is applied once. A refusal re-renders the
page with the domain's message beside the field and changes nothing; a success redirects
back to the page with a notice (POST, redirect, GET: a reload repeats nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.portal import forbidden, render_page
from api.state import AppState
from billing import (
    AssignSeat,
    Cancel,
    ChangePlan,
    Command,
    DeleteWorkspaceCommand,
    Reactivate,
    SelectPlan,
    UnassignSeat,
)
from billing.errors import DomainError
from client import TenureClient, TenureError
from services import Services
from services.billing_models import BillingDetailsIn
from services.portal_tokens import COOKIE_NAME, PortalCredentialError, PortalSession, check_csrf

router = APIRouter(prefix="/billing/{workspace_id}", include_in_schema=False)
Form = dict[str, str]


async def _form(request: Request) -> Form:
    """The urlencoded body, one value per field (the page never sends a field twice)."""
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0].strip() for name, values in fields.items()}


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def _client(request: Request) -> TenureClient:
    state: AppState = request.app.state.tenure
    return await state.tenure()


def _done(workspace_id: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/billing/{workspace_id}?notice={quote(notice)}", status_code=303)


Handler = Callable[[Request, str, PortalSession, Form], Awaitable[Response]]


def form_action(path: str, on: APIRouter = router) -> Callable[[Handler], Handler]:
    """Register a form handler on ``on``: session and CSRF checked first, refusals shown on
    the page."""

    def register(handle: Handler) -> Handler:
        async def endpoint(workspace_id: str, request: Request) -> Response:
            services = _services(request)
            form = await _form(request)
            try:
                session = services.portal.session(request.cookies.get(COOKIE_NAME), workspace_id)
                check_csrf(session, form.get("csrf"))
            except PortalCredentialError as refused:
                return forbidden(str(refused))
            field = form.get("_field", "")
            try:
                return await handle(request, workspace_id, session, form)
            except (TenureError, DomainError) as refused:
                code, message = refused.code, refused.message
                return await render_page(
                    services,
                    session,
                    status=409 if code != "forbidden" else 403,
                    errors={field: f"{message}"},
                )

        endpoint.__name__ = handle.__name__
        on.add_api_route(path, endpoint, methods=["POST"])
        return handle

    return register


async def _preview_or_apply(
    request: Request,
    session: PortalSession,
    form: Form,
    command: Callable[[str], Command],
    preview_of: Callable[[str], Command] | None,
    what: str,
    notice: str,
) -> Response:
    """Without ``confirm``: the quote, and a confirmation form; with it: the command, sent once."""
    client = await _client(request)
    if form.get("confirm") != "yes":
        request_id = uuid.uuid4().hex
        preview = await client.preview(session.workspace_id, (preview_of or command)(request_id))
        return await render_page(
            _services(request),
            session,
            preview={"what": what, "form": form, "request_id": request_id, "quote": preview},
        )
    request_id = form.get("request_id") or uuid.uuid4().hex
    await client.execute(session.workspace_id, command(request_id))
    return _done(session.workspace_id, notice)


@form_action("/plan")
async def change_plan(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    plan = form.get("plan", "")
    return await _preview_or_apply(
        request,
        session,
        form,
        lambda rid: SelectPlan(request_id=rid, actor=session.user, plan=plan),
        lambda rid: ChangePlan(request_id=rid, actor=session.user, plan=plan),
        f"Choose the {plan} plan",
        f"The {plan} plan is chosen.",
    )


@form_action("/seats")
async def assign_seat(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    user, seat, cycle = form.get("user", ""), form.get("type", ""), form.get("cycle", "monthly")
    if cycle != "monthly" and cycle != "annual":
        raise DomainError("invalid_argument", "the billing cycle is monthly or annual")

    def assign(rid: str) -> Command:
        return AssignSeat(request_id=rid, actor=session.user, user=user, seat_type=seat, cycle=cycle)

    return await _preview_or_apply(
        request,
        session,
        form,
        assign,
        None,
        f"A {seat} seat ({cycle}) for {user}",
        f"{user} has a {seat} seat.",
    )


@form_action("/seats/unassign")
async def unassign_seat(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    user = form.get("user", "")
    client = await _client(request)
    await client.execute(
        workspace_id, UnassignSeat(request_id=uuid.uuid4().hex, actor=session.user, user=user)
    )
    return _done(workspace_id, f"{user}'s seat is taken away.")


@form_action("/cancel")
async def cancel(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    reason = form.get("reason") or None
    if form.get("confirm") != "yes":
        client = await _client(request)
        request_id = uuid.uuid4().hex
        command = Cancel(request_id=request_id, actor=session.user, reason=reason)
        quote_ = await client.preview(workspace_id, command)
        summary = await _services(request).portal.revert_summary(workspace_id, quote_.effective_at)
        return await render_page(
            _services(request),
            session,
            preview={
                "what": "Cancel the subscription",
                "form": form,
                "request_id": request_id,
                "quote": quote_,
            },
            revert=summary,
        )
    client = await _client(request)
    command = Cancel(request_id=form.get("request_id") or uuid.uuid4().hex, actor=session.user, reason=reason)
    await client.execute(workspace_id, command)
    return _done(workspace_id, "The subscription is cancelled at the end of what is paid.")


@form_action("/reactivate")
async def reactivate(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    client = await _client(request)
    await client.execute(workspace_id, Reactivate(request_id=uuid.uuid4().hex, actor=session.user))
    return _done(workspace_id, "The subscription is active again.")


@form_action("/billing-email")
async def billing_email(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    services = _services(request)
    current = await services.billing.details(workspace_id)
    try:
        body = BillingDetailsIn(
            billing_email=form.get("billing_email") or None,
            company_name=current.company_name,
            purchasing_as_business=current.purchasing_as_business,
            country=current.country,
        )
    except ValidationError:
        return await render_page(
            services,
            session,
            status=422,
            errors={"billing_email": "enter an e-mail address such as billing@example.com"},
        )
    await services.billing.save_contact(workspace_id, session.user, body)
    return _done(workspace_id, "Billing contact saved.")


@form_action("/tax-ids")
async def add_tax_id(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    tax_type, value = form.get("type", ""), form.get("value", "")
    if not tax_type or not value:
        raise DomainError("invalid_argument", "choose the tax ID's type and enter its number")
    await _services(request).billing.add_tax_id(
        workspace_id, session.user, tax_type, value, f"{tax_type}:{value}"
    )
    return _done(workspace_id, "Tax ID added.")


@form_action("/tax-ids/remove")
async def remove_tax_id(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    await _services(request).billing.remove_tax_id(workspace_id, session.user, form.get("id", ""))
    return _done(workspace_id, "Tax ID removed.")


@form_action("/delete")
async def delete_everything(
    request: Request, workspace_id: str, session: PortalSession, form: Form
) -> Response:
    """Irreversible: the member types the workspace id (the domain checks it)."""
    client = await _client(request)
    command = DeleteWorkspaceCommand(
        request_id=uuid.uuid4().hex, actor=session.user, confirm=form.get("confirm_id", "")
    )
    await client.execute(workspace_id, command)
    return _done(workspace_id, "The workspace and its billing data are being deleted.")

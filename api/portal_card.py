"""The billing page's card: add or replace it through a Stripe SetupIntent (issue 16).

"Add a card" is a CSRF-checked form like the page's others: it starts a SetupIntent through
`services.billing_details` as the member (a member who is not a billing admin gets the same
``forbidden``), then the browser confirms it where the card number is typed, never on our
page:

- against real Stripe (``stripe_api_base`` unset or api.stripe.com), a page loads Stripe.js
  from js.stripe.com with ``stripe_publishable_key`` (the only script from elsewhere: Stripe
  requires it to be loaded from its own host), whose card field confirms the SetupIntent;
- in development, the browser goes to the emulator's test-card form
  (`devstack.stripe_emulator.test_cards`), which confirms it as Stripe would.

Both come back to ``/billing/{id}/card/return``, which calls ``finish_card_setup``: the card
becomes the default and the page shows it; a declined or unauthenticated card shows the
domain's message beside the card and changes nothing. The return address carries an HMAC of
the SetupIntent id under the session's CSRF token, so only the session that started this
SetupIntent can finish it through the page.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from urllib.parse import quote, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.portal import forbidden, render, render_page
from api.portal_actions import Form, form_action
from api.state import AppState
from billing.errors import DomainError
from client import TenureError
from config.settings import Settings
from services import Services
from services.billing_models import CardOut
from services.errors import PAYMENTS_UNAVAILABLE
from services.portal_tokens import COOKIE_NAME, PortalCredentialError, PortalSession

router = APIRouter(prefix="/billing/{workspace_id}", include_in_schema=False)
STRIPE_HOST = "api.stripe.com"
STRIPE_JS = "https://js.stripe.com/v3/"


def live_stripe(settings: Settings) -> bool:
    """Whether the card is confirmed by Stripe.js (real Stripe) or the emulator's form."""
    base = settings.stripe_api_base
    return base is None or urlsplit(base).hostname == STRIPE_HOST


def return_state(session: PortalSession, setup_intent_id: str) -> str:
    """Binds a return to the session that started the SetupIntent (the CSRF token is the key)."""
    return hmac.new(session.csrf.encode(), setup_intent_id.encode(), hashlib.sha256).hexdigest()


def card_text(card: CardOut) -> str:
    """ "Visa ending in 4242, expires 12/2029", as the page writes a card."""
    return (
        f"{(card.brand or 'card').capitalize()} ending in {card.last4}, "
        f"expires {card.exp_month or 0:02d}/{card.exp_year}"
    )


def stripe_js_page(publishable_key: str, client_secret: str, return_url: str, workspace_id: str) -> str:
    """The page whose Stripe.js card field confirms the SetupIntent (live mode)."""
    return render(
        "card_setup.html.j2",
        stripe_js=STRIPE_JS,
        publishable_key=publishable_key,
        client_secret=client_secret,
        return_url=return_url,
        workspace_id=workspace_id,
    )


@form_action("/card", on=router)
async def start_card(request: Request, workspace_id: str, session: PortalSession, form: Form) -> Response:
    state: AppState = request.app.state.tenure
    services: Services = request.app.state.services
    settings = state.settings
    live = live_stripe(settings)
    if live and not settings.stripe_publishable_key:
        raise DomainError(
            PAYMENTS_UNAVAILABLE, "cards cannot be taken: TENURE_STRIPE_PUBLISHABLE_KEY is not set"
        )
    setup = await services.billing.start_card_setup(workspace_id, session.user, uuid.uuid4().hex)
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    back = f"{base}/billing/{workspace_id}/card/return?" + urlencode(
        {"state": return_state(session, setup.setup_intent_id)}
    )
    if live:
        assert settings.stripe_publishable_key is not None
        html = stripe_js_page(settings.stripe_publishable_key, setup.client_secret, back, workspace_id)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    emulator = (settings.stripe_api_base or "").rstrip("/")
    query = urlencode({"client_secret": setup.client_secret, "return_url": back})
    return RedirectResponse(f"{emulator}/test-card/setup_intents/{setup.setup_intent_id}?{query}", 303)


@router.get("/card/return")
async def finish_card(
    workspace_id: str, request: Request, state: str = "", setup_intent: str = ""
) -> Response:
    """Where Stripe (or the emulator) sends the browser back; ``redirect_status`` is not
    trusted: Stripe's SetupIntent says whether the card is set up."""
    services: Services = request.app.state.services
    try:
        session = services.portal.session(request.cookies.get(COOKIE_NAME), workspace_id)
        if not setup_intent or not hmac.compare_digest(state, return_state(session, setup_intent)):
            raise PortalCredentialError("the card form has expired: reload the page and try again")
    except PortalCredentialError as refused:
        return forbidden(str(refused))
    try:
        card = await services.billing.finish_card_setup(workspace_id, session.user, setup_intent)
    except (TenureError, DomainError) as refused:
        status = 403 if refused.code == "forbidden" else 409
        return await render_page(services, session, status=status, errors={"card": refused.message})
    notice = f"Card saved: {card_text(card)}."
    return RedirectResponse(f"/billing/{workspace_id}?notice={quote(notice)}", status_code=303)

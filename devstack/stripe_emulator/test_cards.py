"""The emulator's test-card form: what Stripe.js and its card field do against real Stripe.

A page confirming a SetupIntent sends the browser to
``GET /test-card/setup_intents/{id}?client_secret=…&return_url=…``. The form takes one of
Stripe's test card numbers, confirms the SetupIntent exactly as ``POST
/v1/setup_intents/{id}/confirm`` would (the card attached to the customer, or Stripe's
decline), asks for 3-D Secure when the card wants it (complete or fail, as Stripe's test
authentication page does), then redirects to ``return_url`` with Stripe's parameters
(``setup_intent``, ``setup_intent_client_secret``, ``redirect_status``). Development only:
the emulator serves no card form a production browser would ever see.
"""

from __future__ import annotations

import hmac
import html
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from devstack.stripe_emulator.errors import StripeError
from devstack.stripe_emulator.params import Params
from devstack.stripe_emulator.pipeline import Emulator
from devstack.stripe_emulator.resources.setup_intents import authenticate, confirm
from devstack.stripe_emulator.routing import Call
from devstack.stripe_emulator.state import RequestInfo, SetupIntent, new_id

# Stripe's test card numbers (docs.stripe.com/testing) and the magic ids the emulator already
# knows them by (`payment_methods.MAGIC_CARDS`): one table of behaviour, two ways in.
TEST_CARDS: dict[str, tuple[str, str]] = {
    "4242424242424242": ("pm_card_visa", "succeeds"),
    "4000002500003155": ("pm_card_authenticationRequiredOnSetup", "asks for authentication (3-D Secure)"),
    "4000000000009995": ("pm_card_visa_chargeDeclinedInsufficientFunds", "declined: insufficient funds"),
    "4000000000000069": ("pm_card_chargeDeclinedExpiredCard", "declined: expired card"),
    "4000000000000002": ("pm_card_visa_chargeDeclined", "declined"),
    "4000000000000127": ("pm_card_chargeDeclinedIncorrectCvc", "declined: incorrect CVC"),
    "4000000000000341": ("pm_card_chargeCustomerFail", "saved, then every charge declines"),
}
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}"
    "label{display:block;font-weight:600}input{font:inherit;padding:.3rem .5rem;width:100%}"
    "button{font:inherit;margin:.75rem .5rem 0 0;padding:.3rem .8rem}"
    ".error{color:#a40e26;font-weight:600}td{padding:.2rem .6rem .2rem 0}"
    ".note{color:#4a5560;font-size:.9rem}"
)


def _spaced(number: str) -> str:
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Stripe emulator</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
    )


def _hidden(secret: str, return_url: str) -> str:
    return (
        f'<input type="hidden" name="client_secret" value="{html.escape(secret)}">'
        f'<input type="hidden" name="return_url" value="{html.escape(return_url)}">'
    )


def _card_form(si: SetupIntent, secret: str, return_url: str, error: str | None = None) -> HTMLResponse:
    rows = "".join(
        f"<tr><td><code>{_spaced(number)}</code></td><td>{html.escape(what)}</td></tr>"
        for number, (_, what) in TEST_CARDS.items()
    )
    invalid = ' aria-invalid="true" aria-describedby="card-error"' if error else ""
    alert = f'<p class="error" role="alert" id="card-error">{html.escape(error)}</p>' if error else ""
    body = (
        f'<p class="note">The Stripe emulator stands in for Stripe.js: no real card is taken. '
        f"SetupIntent <code>{html.escape(si.id)}</code>.</p>"
        f'<form method="post" action="/test-card/setup_intents/{html.escape(si.id)}">'
        f"{_hidden(secret, return_url)}"
        f'<label for="card-number">Card number</label>'
        f'<input id="card-number" name="number" inputmode="numeric" autocomplete="off" required{invalid}>'
        f"{alert}"
        f'<p class="note">Expires 12/{time.gmtime().tm_year + 3}, as the emulator issues its cards.</p>'
        f'<button type="submit">Save card</button></form>'
        f"<h2>Stripe's test cards</h2><table>{rows}</table>"
    )
    return _page("Add a card", body, 400 if error else 200)


def _authentication(si: SetupIntent, secret: str, return_url: str) -> HTMLResponse:
    action = f"/test-card/setup_intents/{html.escape(si.id)}/authenticate"
    body = (
        "<p>This card asks for 3-D Secure. Complete or fail the test authentication "
        "(Stripe's test page offers the same two answers).</p>"
        f'<form method="post" action="{action}">{_hidden(secret, return_url)}'
        '<button type="submit" name="outcome" value="complete">Complete authentication</button>'
        '<button type="submit" name="outcome" value="fail">Fail authentication</button></form>'
    )
    return _page("Authenticate the card", body)


def _back(si: SetupIntent, return_url: str) -> RedirectResponse:
    """Back to the page, with the parameters Stripe appends to ``return_url``."""
    status = {"succeeded": "succeeded", "processing": "processing"}.get(si.status, "failed")
    query = urlencode(
        {"setup_intent": si.id, "setup_intent_client_secret": si.client_secret, "redirect_status": status}
    )
    return RedirectResponse(f"{return_url}{'&' if urlsplit(return_url).query else '?'}{query}", 303)


def _emulator(request: Request) -> Emulator:
    emulator = request.app.state.emulator
    assert isinstance(emulator, Emulator)
    return emulator


def _call(request: Request, emulator: Emulator, si: SetupIntent) -> Call:
    info = RequestInfo(new_id("req", 14), None, str(request.base_url))
    return Call(emulator.state, Params({}), {"intent": si.id}, info, emulator.settings)


async def _fields(request: Request) -> dict[str, str]:
    if request.method == "GET":
        return dict(request.query_params)
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {name: values[-1].strip() for name, values in parsed.items()}


def _intent(emulator: Emulator, request: Request, fields: dict[str, str]) -> SetupIntent | Response:
    """The SetupIntent the client secret opens, or the refusal page."""
    si = emulator.state.setup_intents.get(request.path_params["intent"])
    secret = fields.get("client_secret", "")
    if si is None or not hmac.compare_digest(secret, si.client_secret):
        return _page("No such SetupIntent", "<p>The client secret does not open this SetupIntent.</p>", 404)
    target = urlsplit(fields.get("return_url", ""))
    if target.scheme not in ("http", "https") or not target.netloc:
        return _page("No return address", "<p><code>return_url</code> must be an http(s) URL.</p>", 400)
    return si


async def card_form(request: Request) -> Response:
    """``GET /test-card/setup_intents/{intent}``: the card form (or the authentication step)."""
    fields = await _fields(request)
    si = _intent(_emulator(request), request, fields)
    if not isinstance(si, SetupIntent):
        return si
    if si.status == "requires_action":
        return _authentication(si, fields["client_secret"], fields["return_url"])
    return _card_form(si, fields["client_secret"], fields["return_url"])


async def submit_card(request: Request) -> Response:
    """``POST /test-card/setup_intents/{intent}``: confirm with the test card typed."""
    emulator, fields = _emulator(request), await _fields(request)
    async with emulator.state.lock:
        si = _intent(emulator, request, fields)
        if not isinstance(si, SetupIntent):
            return si
        secret, return_url = fields["client_secret"], fields["return_url"]
        card = TEST_CARDS.get("".join(fields.get("number", "").split()))
        if card is None:
            return _card_form(si, secret, return_url, "Use one of Stripe's test card numbers below.")
        try:
            confirm(_call(request, emulator, si), si, card[0])
        except StripeError as declined:
            if declined.status != 402:  # not a decline: the SetupIntent's state forbids it
                return _card_form(si, secret, return_url, declined.message)
    if si.status == "requires_action":
        return _authentication(si, secret, return_url)
    return _back(si, return_url)


async def submit_authentication(request: Request) -> Response:
    """``POST /test-card/setup_intents/{intent}/authenticate``: 3-D Secure passed or failed."""
    emulator, fields = _emulator(request), await _fields(request)
    async with emulator.state.lock:
        si = _intent(emulator, request, fields)
        if not isinstance(si, SetupIntent):
            return si
        try:
            authenticate(_call(request, emulator, si), si, passed=fields.get("outcome") == "complete")
        except StripeError as refused:
            return _page("Not waiting for authentication", f"<p>{html.escape(str(refused))}</p>", 400)
    return _back(si, fields["return_url"])


ROUTES = [
    Route("/test-card/setup_intents/{intent}", card_form, methods=["GET"]),
    Route("/test-card/setup_intents/{intent}", submit_card, methods=["POST"]),
    Route("/test-card/setup_intents/{intent}/authenticate", submit_authentication, methods=["POST"]),
]

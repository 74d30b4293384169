"""The emulator's test-card form: it confirms a SetupIntent as Stripe's confirm does (the card
attached to the customer, Stripe's decline, 3-D Secure for 3155) and goes back to return_url."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

RETURN = "https://app.test/billing/ws/card/return?state=abc"


def _intent(client: stripe.StripeClient) -> tuple[stripe.Customer, stripe.SetupIntent]:
    customer = client.v1.customers.create({"email": "a@b.test"})
    intent = client.v1.setup_intents.create(
        {"customer": customer.id, "usage": "off_session", "allowed_payment_method_types": ["card"]}
    )
    return customer, intent


def _submit(control: httpx.Client, intent: stripe.SetupIntent, number: str) -> httpx.Response:
    fields = {"client_secret": intent.client_secret, "return_url": RETURN, "number": number}
    return control.post(f"/test-card/setup_intents/{intent.id}", data=fields)


def _back(answer: httpx.Response) -> dict[str, str]:
    """The parameters the browser carries back to return_url (Stripe's names)."""
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith(RETURN + "&")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_the_form_lists_the_test_cards_and_needs_the_client_secret(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    _, intent = _intent(client)
    query = {"client_secret": intent.client_secret, "return_url": RETURN}
    form = control.get(f"/test-card/setup_intents/{intent.id}", params=query)
    assert form.status_code == 200
    for number in (
        "4242 4242 4242 4242",
        "4000 0025 0000 3155",
        "4000 0000 0000 9995",
        "4000 0000 0000 0069",
    ):
        assert number in form.text
    wrong = control.get(f"/test-card/setup_intents/{intent.id}", params=query | {"client_secret": "x"})
    assert wrong.status_code == 404
    nowhere = control.get(f"/test-card/setup_intents/{intent.id}", params=query | {"return_url": "ftp://x"})
    assert nowhere.status_code == 400


def test_4242_attaches_the_card_to_the_customer_and_succeeds(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    customer, intent = _intent(client)
    back = _back(_submit(control, intent, "4242 4242 4242 4242"))
    assert back == {
        "state": "abc",
        "setup_intent": intent.id,
        "setup_intent_client_secret": intent.client_secret,
        "redirect_status": "succeeded",
    }
    done = client.v1.setup_intents.retrieve(intent.id)
    assert done.status == "succeeded"
    assert done.payment_method is not None
    card = client.v1.payment_methods.retrieve(str(done.payment_method))
    assert (card.customer, card.card and card.card.last4) == (customer.id, "4242")


@pytest.mark.parametrize(
    ("number", "code", "decline_code"),
    [("4000000000009995", "card_declined", "insufficient_funds"), ("4000000000000069", "expired_card", None)],
)
def test_a_declined_card_fails_the_setup_and_attaches_nothing(
    client: stripe.StripeClient, control: httpx.Client, number: str, code: str, decline_code: str | None
) -> None:
    customer, intent = _intent(client)
    assert _back(_submit(control, intent, number))["redirect_status"] == "failed"
    failed = client.v1.setup_intents.retrieve(intent.id)
    assert (failed.status, failed.payment_method) == ("requires_payment_method", None)
    assert failed.last_setup_error is not None
    error = failed.last_setup_error.to_dict()
    assert (error["code"], error.get("decline_code")) == (code, decline_code)
    assert list(client.v1.payment_methods.list({"customer": customer.id, "type": "card"})) == []


@pytest.mark.parametrize(
    ("outcome", "status"), [("complete", "succeeded"), ("fail", "requires_payment_method")]
)
def test_3155_asks_for_authentication_first(
    client: stripe.StripeClient, control: httpx.Client, outcome: str, status: str
) -> None:
    customer, intent = _intent(client)
    asked = _submit(control, intent, "4000 0025 0000 3155")
    assert asked.status_code == 200
    assert "Complete authentication" in asked.text
    waiting = client.v1.setup_intents.retrieve(intent.id)
    assert waiting.status == "requires_action"
    assert waiting.next_action is not None
    assert list(client.v1.payment_methods.list({"customer": customer.id, "type": "card"})) == []
    fields = {"client_secret": intent.client_secret, "return_url": RETURN, "outcome": outcome}
    answered = control.post(f"/test-card/setup_intents/{intent.id}/authenticate", data=fields)
    assert _back(answered)["redirect_status"] == ("succeeded" if outcome == "complete" else "failed")
    assert client.v1.setup_intents.retrieve(intent.id).status == status
    attached = list(client.v1.payment_methods.list({"customer": customer.id, "type": "card"}))
    assert [pm.card and pm.card.last4 for pm in attached] == (["3155"] if outcome == "complete" else [])


def test_a_number_that_is_not_a_test_card_is_refused_beside_the_field(
    client: stripe.StripeClient, control: httpx.Client
) -> None:
    _, intent = _intent(client)
    refused = _submit(control, intent, "1234 5678 9012 3456")
    assert refused.status_code == 400
    assert 'id="card-error"' in refused.text
    assert client.v1.setup_intents.retrieve(intent.id).status == "requires_payment_method"

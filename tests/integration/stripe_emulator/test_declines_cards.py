"""Stripe's decline test cards: codes, decline codes, PaymentIntent status and events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

CHARGE_DECLINES = [
    # (test card, code, decline_code, message)
    ("pm_card_visa_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", None, "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", None, "Your card's security code is incorrect."),
]  # fmt: skip


def _open_invoice(client: stripe.StripeClient, pm_id: str) -> tuple[str, str]:
    cus = client.v1.customers.create({"email": "card@x.test"})
    pm = client.v1.payment_methods.attach(pm_id, {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    inv = client.v1.invoices.create({"customer": cus.id})
    client.v1.invoice_items.create({"customer": cus.id, "invoice": inv.id, "amount": 2500, "currency": "usd"})
    client.v1.invoices.finalize_invoice(inv.id)
    return inv.id, pm.id


def _error(exc: stripe.CardError) -> dict[str, Any]:
    body = exc.json_body
    assert isinstance(body, dict)
    error = body["error"]
    assert isinstance(error, dict)
    return error


def _event_types(client: stripe.StripeClient) -> list[str]:
    return sorted(
        e.type for e in client.v1.events.list({"limit": 100}).data if e.type.startswith("invoice.pay")
    )


def test_authentication_required_leaves_the_invoice_open_for_the_customer(
    client: stripe.StripeClient,
) -> None:
    invoice_id, _ = _open_invoice(client, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(invoice_id, {"off_session": True})
    err = excinfo.value
    assert err.http_status == 402
    assert (err.code, _error(err)["decline_code"]) == (
        "authentication_required",
        "authentication_required",
    )
    assert _error(err)["type"] == "card_error"
    assert _error(err)["payment_intent"]["status"] == "requires_action"
    invoice = client.v1.invoices.retrieve(invoice_id)
    assert invoice.status == "open"
    assert invoice.hosted_invoice_url
    assert _event_types(client) == ["invoice.payment_action_required", "invoice.payment_failed"]


@pytest.mark.parametrize(("card", "code", "decline_code", "message"), CHARGE_DECLINES)
def test_decline_cards_cannot_be_attached(
    client: stripe.StripeClient, card: str, code: str, decline_code: str | None, message: str
) -> None:
    cus = client.v1.customers.create({"email": "attach@x.test"})
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.payment_methods.attach(card, {"customer": cus.id})
    assert excinfo.value.code == code
    assert _error(excinfo.value).get("decline_code") == decline_code
    assert excinfo.value.user_message == message


@pytest.mark.parametrize(("card", "code", "decline_code", "message"), CHARGE_DECLINES)
def test_an_attached_card_that_goes_bad_declines_with_its_code(
    client: stripe.StripeClient,
    control: httpx.Client,
    card: str,
    code: str,
    decline_code: str | None,
    message: str,
) -> None:
    invoice_id, pm_id = _open_invoice(client, "pm_card_visa")
    control.post(f"/_emulator/payment_methods/{pm_id}/behave_as", json={"card": card}).raise_for_status()
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(invoice_id, {"off_session": True})
    body = _error(excinfo.value)
    assert (body["code"], body.get("decline_code"), body["message"]) == (code, decline_code, message)
    assert body["payment_intent"]["status"] == "requires_payment_method"
    assert _event_types(client) == ["invoice.payment_failed"]
    assert client.v1.invoices.retrieve(invoice_id).status == "open"


def test_behave_as_refuses_unknown_cards(client: stripe.StripeClient, control: httpx.Client) -> None:
    _, pm_id = _open_invoice(client, "pm_card_visa")
    assert (
        control.post(f"/_emulator/payment_methods/{pm_id}/behave_as", json={"card": "x"}).status_code == 400
    )
    assert (
        control.post("/_emulator/payment_methods/pm_x/behave_as", json={"card": "pm_card_visa"}).status_code
        == 404
    )

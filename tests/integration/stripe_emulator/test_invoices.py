"""Invoices end to end: drafts, items, finalize, pay, decline, void, uncollectible, lists."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from tests.integration.stripe_emulator.helpers import error_payload, event_types


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    cus = client.v1.customers.create({"email": "billing@acme.test", "business_name": "Acme Ltd"})
    pm = client.v1.payment_methods.attach("pm_card_visa", {"customer": cus.id})
    return client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})


def draft_with_lines(client: stripe.StripeClient, customer_id: str, *amounts: int) -> stripe.Invoice:
    inv = client.v1.invoices.create(
        {
            "customer": customer_id,
            "auto_advance": False,
            "collection_method": "charge_automatically",
            "pending_invoice_items_behavior": "exclude",
            "metadata": {"engine_invoice": "inv-1"},
        }
    )
    for n, amount in enumerate(amounts):
        client.v1.invoice_items.create(
            {
                "customer": customer_id,
                "invoice": inv.id,
                "amount": amount,
                "currency": "usd",
                "description": f"Line {n}",
            }
        )
    return client.v1.invoices.retrieve(inv.id)


def test_draft_shape_is_endive(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = draft_with_lines(client, customer.id, 5000, 1500)
    assert isinstance(inv, stripe.Invoice)
    assert inv.id.startswith("in_")
    assert inv.status == "draft"
    assert (inv.amount_due, inv.amount_paid, inv.amount_remaining) == (6500, 0, 6500)
    assert (inv.total, inv.subtotal, inv.currency) == (6500, 6500, "usd")
    assert inv.number is None
    assert inv.hosted_invoice_url is None
    assert inv.invoice_pdf is None
    assert inv.auto_advance is False
    assert inv.collection_method == "charge_automatically"
    assert inv.customer == customer.id
    assert inv.metadata is not None
    assert inv.metadata["engine_invoice"] == "inv-1"
    assert inv.status_transitions.finalized_at is None
    assert inv.last_finalization_error is None
    assert inv.parent is None
    assert inv.livemode is False
    assert inv.period_start == inv.period_end == inv.created
    assert [line.amount for line in inv.lines.data] == [5000, 1500]
    assert isinstance(inv.lines.data[0], stripe.InvoiceLineItem)
    # Fields basil removed must not come back.
    for removed in ("payment_intent", "charge", "paid"):
        assert removed not in inv.to_dict()


def test_pending_items_swept_only_with_include(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    pending = client.v1.invoice_items.create(
        {"customer": customer.id, "amount": 700, "currency": "usd", "description": "stray"}
    )
    assert isinstance(pending, stripe.InvoiceItem)
    assert pending.invoice is None
    excluded = client.v1.invoices.create({"customer": customer.id})
    assert excluded.lines.data == []
    assert excluded.total == 0
    included = client.v1.invoices.create(
        {"customer": customer.id, "pending_invoice_items_behavior": "include"}
    )
    assert [line.amount for line in included.lines.data] == [700]
    assert client.v1.invoice_items.retrieve(pending.id).invoice == included.id


def test_item_with_period_quantity_and_decimal_unit(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    inv = client.v1.invoices.create({"customer": customer.id})
    item = client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "invoice": inv.id,
            "currency": "usd",
            "quantity": 3,
            "unit_amount_decimal": Decimal("333.5"),
            "period": {"start": 1_700_000_000, "end": 1_702_592_000},
            "metadata": {"line": "seats"},
        }
    )
    # 3 x 333.5 = 1000.5 minor units, rounded half-up.
    assert (item.amount, item.quantity) == (1001, 3)
    assert item.period.start == 1_700_000_000
    assert item.period.end == 1_702_592_000
    assert item.pricing is not None
    assert str(item.pricing.unit_amount_decimal) == "333.5"
    lines = client.v1.invoices.line_items.list(inv.id)
    assert len(lines.data) == 1
    line = lines.data[0]
    assert line.id.startswith("il_")
    assert (line.amount, line.quantity, line.invoice) == (1001, 3, inv.id)
    assert line.period.start == 1_700_000_000
    assert line.parent is not None
    assert line.parent.invoice_item_details is not None
    assert line.parent.invoice_item_details.invoice_item == item.id
    assert line.metadata["line"] == "seats"


def test_a_negative_unit_amount_is_a_credit(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = draft_with_lines(client, customer.id, 1000)
    item = client.v1.invoice_items.create(
        {
            "customer": customer.id,
            "invoice": inv.id,
            "currency": "usd",
            "quantity": 2,
            "unit_amount_decimal": Decimal("-150"),
        }
    )
    assert (item.amount, item.quantity) == (-300, 2)
    assert client.v1.invoices.retrieve(inv.id).total == 700


def test_items_cannot_go_on_finalized_invoices(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    inv = draft_with_lines(client, customer.id, 100)
    client.v1.invoices.finalize_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoice_items.create(
            {"customer": customer.id, "invoice": inv.id, "amount": 5, "currency": "usd"}
        )
    assert excinfo.value.param == "invoice"


def test_finalize_numbers_and_serves_documents(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    inv = draft_with_lines(client, customer.id, 5000, 1500)
    final = client.v1.invoices.finalize_invoice(inv.id)
    assert final.status == "open"
    assert final.number == "EMU-000001"
    assert final.status_transitions.finalized_at is not None
    assert final.amount_remaining == 6500
    assert final.hosted_invoice_url is not None
    assert final.invoice_pdf is not None
    page = httpx.get(final.hosted_invoice_url)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "EMU-000001" in page.text
    assert "Line 0" in page.text
    assert "65.00 USD" in page.text
    pdf = httpx.get(final.invoice_pdf)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert b"(Total: 65.00 USD)" in pdf.content
    assert_pdf_structure(pdf.content)
    second = draft_with_lines(client, customer.id, 1)
    assert client.v1.invoices.finalize_invoice(second.id).number == "EMU-000002"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.finalize_invoice(inv.id)


def assert_pdf_structure(pdf: bytes) -> None:
    """Check the cross-reference table points at every object, as PDF readers require."""
    startxref = int(pdf.rsplit(b"startxref", 1)[1].split()[0])
    assert pdf[startxref:].startswith(b"xref")
    header, *rows = pdf[startxref:].split(b"trailer")[0].splitlines()[1:]
    first, count = (int(x) for x in header.split())
    assert (first, count) == (0, len(rows))
    for number, row in enumerate(rows[1:], start=1):
        offset = int(row.split()[0])
        assert pdf[offset:].startswith(f"{number} 0 obj".encode())


def test_documents_exist_only_after_finalization(
    client: stripe.StripeClient, customer: stripe.Customer, emulator: EmulatorServer
) -> None:
    inv = draft_with_lines(client, customer.id, 100)
    assert httpx.get(f"{emulator.url}/hosted/invoices/{inv.id}").status_code == 404
    assert httpx.get(f"{emulator.url}/hosted/invoices/{inv.id}/pdf").status_code == 404


def test_zero_total_finalizes_to_paid(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = client.v1.invoices.create({"customer": customer.id})
    final = client.v1.invoices.finalize_invoice(inv.id)
    assert final.status == "paid"
    assert final.amount_remaining == 0
    assert final.status_transitions.paid_at is not None
    assert event_types(client)[-3:] == ["invoice.finalized", "invoice.paid", "invoice.payment_succeeded"]


def test_pay_off_session_with_default_card(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 4200).id)
    paid = client.v1.invoices.pay(inv.id, {"off_session": True})
    assert paid.status == "paid"
    assert (paid.amount_paid, paid.amount_remaining) == (4200, 0)
    assert paid.attempt_count == 1
    assert paid.attempted is True
    assert paid.status_transitions.paid_at is not None
    types = event_types(client)
    assert types[-2:] == ["invoice.paid", "invoice.payment_succeeded"]
    paid_event = client.v1.events.list({"type": "invoice.paid"}).data[0]
    assert isinstance(paid_event.data.object, stripe.Invoice)
    assert paid_event.data.object.id == inv.id
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(inv.id, {"off_session": True})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(inv.id)


def test_pay_draft_finalizes_first(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    paid = client.v1.invoices.pay(draft_with_lines(client, customer.id, 300).id, {"off_session": True})
    assert paid.status == "paid"
    assert paid.number == "EMU-000001"


def test_decline_leaves_invoice_open_then_other_card_pays(
    client: stripe.StripeClient, customer: stripe.Customer
) -> None:
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": customer.id})
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 900).id)
    with pytest.raises(stripe.CardError) as excinfo:
        client.v1.invoices.pay(inv.id, {"off_session": True, "payment_method": failing.id})
    err = excinfo.value
    assert err.http_status == 402
    assert err.code == "card_declined"
    assert err.error is not None
    assert err.error.decline_code == "generic_decline"
    assert err.json_body is not None
    assert error_payload(err)["type"] == "card_error"
    after = client.v1.invoices.retrieve(inv.id)
    assert after.status == "open"
    assert (after.amount_paid, after.amount_remaining, after.attempt_count) == (0, 900, 1)
    assert event_types(client)[-1] == "invoice.payment_failed"
    paid = client.v1.invoices.pay(inv.id, {"off_session": True})
    assert paid.status == "paid"
    assert paid.attempt_count == 2


def test_default_card_that_fails_every_charge(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "fail@x.test"})
    pm = client.v1.payment_methods.attach("pm_card_chargeCustomerFail", {"customer": cus.id})
    client.v1.customers.update(cus.id, {"invoice_settings": {"default_payment_method": pm.id}})
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, cus.id, 100).id)
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.invoices.pay(inv.id, {"off_session": True})
    assert client.v1.invoices.retrieve(inv.id).attempt_count == 2
    assert event_types(client).count("invoice.payment_failed") == 2


def test_pay_without_any_payment_method_is_400(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "nocard@x.test"})
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, cus.id, 100).id)
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.pay(inv.id, {"off_session": True})
    assert excinfo.value.http_status == 400
    assert "no attached payment source or default payment method" in str(excinfo.value)
    assert client.v1.invoices.retrieve(inv.id).status == "open"


def test_paid_out_of_band(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 250).id)
    paid = client.v1.invoices.pay(inv.id, {"paid_out_of_band": True})
    assert paid.status == "paid"
    assert paid.amount_paid_off_stripe == 250


def test_void_open_and_uncollectible(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    first = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 100).id)
    voided = client.v1.invoices.void_invoice(first.id)
    assert voided.status == "void"
    assert voided.status_transitions.voided_at is not None
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(first.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.pay(first.id, {"off_session": True})

    second = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 200).id)
    bad = client.v1.invoices.mark_uncollectible(second.id)
    assert bad.status == "uncollectible"
    assert bad.status_transitions.marked_uncollectible_at is not None
    assert client.v1.invoices.void_invoice(second.id).status == "void"
    types = event_types(client)
    assert types.count("invoice.voided") == 2
    assert types.count("invoice.marked_uncollectible") == 1


def test_uncollectible_can_still_be_paid(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = client.v1.invoices.finalize_invoice(draft_with_lines(client, customer.id, 100).id)
    client.v1.invoices.mark_uncollectible(inv.id)
    assert client.v1.invoices.pay(inv.id, {"off_session": True}).status == "paid"


def test_draft_cannot_be_voided_or_marked(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = draft_with_lines(client, customer.id, 100)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.void_invoice(inv.id)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.mark_uncollectible(inv.id)
    deleted = client.v1.invoices.delete(inv.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.invoices.retrieve(inv.id)
    assert excinfo.value.http_status == 404


def test_list_filters_and_pagination(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    other = client.v1.customers.create({"email": "other@x.test"})
    ids = [draft_with_lines(client, customer.id, 100 + n).id for n in range(5)]
    client.v1.invoices.create({"customer": other.id})
    client.v1.invoices.finalize_invoice(ids[0])

    page1 = client.v1.invoices.list({"customer": customer.id, "limit": 2})
    assert [i.id for i in page1.data] == [ids[4], ids[3]]
    assert page1.has_more is True
    page2 = client.v1.invoices.list({"customer": customer.id, "limit": 2, "starting_after": ids[3]})
    assert [i.id for i in page2.data] == [ids[2], ids[1]]
    page3 = client.v1.invoices.list({"customer": customer.id, "limit": 2, "starting_after": ids[1]})
    assert [i.id for i in page3.data] == [ids[0]]
    assert page3.has_more is False
    every = [i.id for i in client.v1.invoices.list({"customer": customer.id, "limit": 2}).auto_paging_iter()]
    assert every == list(reversed(ids))

    opened = client.v1.invoices.list({"customer": customer.id, "status": "open"})
    assert [i.id for i in opened.data] == [ids[0]]
    drafts = client.v1.invoices.list({"status": "draft"})
    assert len(drafts.data) == 5
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.list({"limit": 101})


def test_line_items_pagination(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = draft_with_lines(client, customer.id, *range(1, 13))
    assert len(inv.lines.data) == 10
    assert inv.lines.has_more is True
    first = client.v1.invoices.line_items.list(inv.id, {"limit": 5})
    assert [line.amount for line in first.data] == [1, 2, 3, 4, 5]
    amounts = [line.amount for line in client.v1.invoices.line_items.list(inv.id).auto_paging_iter()]
    assert amounts == list(range(1, 13))


def test_update_invoice_metadata(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    inv = draft_with_lines(client, customer.id, 100)
    updated = client.v1.invoices.update(inv.id, {"description": "March", "metadata": {"k": "v"}})
    assert updated.description == "March"
    assert updated.metadata is not None
    assert updated.metadata.to_dict() == {
        "engine_invoice": "inv-1",
        "k": "v",
    }
    assert event_types(client)[-1] == "invoice.updated"


def test_send_invoice_needs_days_until_due(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.invoices.create({"customer": customer.id, "collection_method": "send_invoice"})
    inv = client.v1.invoices.create(
        {"customer": customer.id, "collection_method": "send_invoice", "days_until_due": 14}
    )
    client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": inv.id, "amount": 10, "currency": "usd"}
    )
    final = client.v1.invoices.finalize_invoice(inv.id)
    assert final.due_date is not None
    assert final.status_transitions.finalized_at is not None
    assert final.due_date == final.status_transitions.finalized_at + 14 * 86_400

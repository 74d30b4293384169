"""``/v1/invoiceitems``: create (pending, or straight onto a draft), retrieve, delete."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from devstack.stripe_emulator.errors import invalid_request, no_such
from devstack.stripe_emulator.params import Unset, apply_metadata, sub_str
from devstack.stripe_emulator.routing import ApiRoute, Call, route
from devstack.stripe_emulator.state import JSON, InvoiceItem, new_id, now


def _decimal_string(value: Decimal) -> str:
    # Stripe renders decimal strings without exponent and without trailing zeros.
    text = format(value.normalize(), "f")
    return text


def invoice_item_json(item: InvoiceItem) -> JSON:
    """Return the endive wire shape of an invoice item."""
    return {
        "id": item.id,
        "object": "invoiceitem",
        "amount": item.amount,
        "currency": item.currency,
        "customer": item.customer,
        "customer_account": None,
        "date": item.created,
        "description": item.description,
        "discountable": item.discountable,
        "discounts": [],
        "invoice": item.invoice,
        "livemode": False,
        "metadata": dict(item.metadata),
        "net_amount": item.amount,
        "parent": None,
        "period": {"end": item.period_end, "start": item.period_start},
        "pricing": {
            "price_details": None,
            "type": "price_details",
            "unit_amount_decimal": _decimal_string(item.unit_amount_decimal),
        },
        "proration": False,
        "proration_details": {"credited_items": None, "discount_amounts": []},
        "quantity": item.quantity,
        "quantity_decimal": str(item.quantity),
        "tax_rates": [],
        "test_clock": None,
    }


def line_json(item: InvoiceItem) -> JSON:
    """Return the endive ``line_item`` that an invoice shows for ``item``."""
    return {
        "id": item.line_id,
        "object": "line_item",
        "amount": item.amount,
        "currency": item.currency,
        "description": item.description,
        "discount_amounts": [],
        "discountable": item.discountable,
        "discounts": [],
        "invoice": item.invoice,
        "livemode": False,
        "metadata": dict(item.metadata),
        "parent": {
            "invoice_item_details": {
                "credited_items": None,
                "invoice_item": item.id,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": None,
            },
            "subscription_item_details": None,
            "type": "invoice_item_details",
        },
        "period": {"end": item.period_end, "start": item.period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": None,
            "type": "price_details",
            "unit_amount_decimal": _decimal_string(item.unit_amount_decimal),
        },
        "quantity": item.quantity,
        "quantity_decimal": str(item.quantity),
        "subscription": None,
        "subtotal": item.amount,
        "taxes": [],
    }


def _period(call: Call, created: int) -> tuple[int, int]:
    period = call.params.hash("period")
    if period is None or isinstance(period, Unset):
        return created, created
    start = sub_str(period, "start", "period[start]")
    end = sub_str(period, "end", "period[end]")
    if start is None or end is None or not start.isdigit() or not end.isdigit():
        raise invalid_request("period requires integer start and end.", param="period")
    if int(end) < int(start):
        raise invalid_request("period[end] must be on or after period[start].", param="period[end]")
    return int(start), int(end)


def _amount(call: Call) -> tuple[int, int, Decimal]:
    """Return ``(amount, quantity, unit_amount_decimal)`` from either calling style."""
    p = call.params
    amount = p.integer("amount")
    quantity = p.integer("quantity", minimum=0)
    unit = p.decimal("unit_amount_decimal", signed=True)
    if amount is not None and unit is not None:
        raise invalid_request(
            "You may only specify one of these parameters: amount, unit_amount_decimal.",
            param="amount",
        )
    if amount is not None:
        if quantity not in (None, 1):
            raise invalid_request(
                "When passing amount, quantity must be 1 (use unit_amount_decimal instead).",
                param="quantity",
            )
        return amount, 1, Decimal(amount)
    if unit is None:
        raise invalid_request(
            "Missing required param: amount (or unit_amount_decimal).",
            param="amount",
            code="parameter_missing",
        )
    qty = 1 if quantity is None else quantity
    # Amounts are integer minor units; Stripe rounds the product half-up.
    total = int((unit * qty).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return total, qty, unit


def create_invoice_item(call: Call) -> JSON:
    """``POST /v1/invoiceitems``; with ``invoice`` the line lands on that draft."""
    p = call.params
    p.only(
        "customer",
        "amount",
        "currency",
        "description",
        "metadata",
        "invoice",
        "period",
        "quantity",
        "unit_amount_decimal",
        "discountable",
    )
    customer_id = p.string("customer", required=True) or ""
    if call.state.live_customer(customer_id) is None:
        raise no_such("customer", customer_id, param="customer", in_path=False)
    invoice = None
    invoice_id = p.string("invoice")
    if invoice_id:
        invoice = call.state.invoices.get(invoice_id)
        if invoice is None or invoice.deleted:
            raise no_such("invoice", invoice_id, param="invoice", in_path=False)
        if invoice.status != "draft":
            raise invalid_request(
                f"You can only add invoice items to draft invoices ({invoice_id} is {invoice.status}).",
                param="invoice",
                code="invoice_not_editable",
            )
        if invoice.customer != customer_id:
            raise invalid_request("The invoice belongs to another customer.", param="invoice")
    currency = (p.string("currency") or "").lower() or (invoice.currency if invoice else "")
    if not currency:
        raise invalid_request("Missing required param: currency.", param="currency", code="parameter_missing")
    if invoice is not None and currency != invoice.currency:
        raise invalid_request(
            f"The currency {currency} does not match the invoice's currency {invoice.currency}.",
            param="currency",
        )
    created = now()
    amount, quantity, unit = _amount(call)
    start, end = _period(call, created)
    item = InvoiceItem(
        id=new_id("ii", 24),
        created=created,
        customer=customer_id,
        amount=amount,
        currency=currency,
        quantity=quantity,
        unit_amount_decimal=unit,
        period_start=start,
        period_end=end,
        description=p.string("description"),
        metadata=apply_metadata({}, p.metadata()),
        discountable=p.boolean("discountable") is not False,
    )
    call.state.invoice_items[item.id] = item
    if invoice is not None:
        item.invoice = invoice.id
        item.line_id = new_id("il", 24)
        invoice.item_ids.append(item.id)
    body = invoice_item_json(item)
    call.emit("invoiceitem.created", body)
    return body


def retrieve_invoice_item(call: Call) -> JSON:
    """``GET /v1/invoiceitems/{invoiceitem}``."""
    item = call.state.invoice_items.get(call.path["invoiceitem"])
    if item is None:
        raise no_such("invoiceitem", call.path["invoiceitem"])
    return invoice_item_json(item)


def delete_invoice_item(call: Call) -> JSON:
    """``DELETE /v1/invoiceitems/{invoiceitem}``: pending items or lines of drafts only."""
    item = call.state.invoice_items.get(call.path["invoiceitem"])
    if item is None:
        raise no_such("invoiceitem", call.path["invoiceitem"])
    invoice = call.state.invoices.get(item.invoice) if item.invoice else None
    if invoice is not None and invoice.status != "draft":
        raise invalid_request(
            "Invoice items on finalized invoices cannot be deleted.", code="invoice_not_editable"
        )
    if invoice is not None:
        invoice.item_ids.remove(item.id)
    del call.state.invoice_items[item.id]
    call.emit("invoiceitem.deleted", invoice_item_json(item))
    return {"id": item.id, "object": "invoiceitem", "deleted": True}


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/invoiceitems", create_invoice_item),
    route("GET", "/v1/invoiceitems/{invoiceitem}", retrieve_invoice_item),
    route("DELETE", "/v1/invoiceitems/{invoiceitem}", delete_invoice_item),
]

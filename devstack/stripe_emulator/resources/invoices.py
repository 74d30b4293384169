"""``/v1/invoices``: create draft, retrieve, update, delete draft, list, line items.

State transitions (finalize, pay, void, uncollectible) are in ``invoice_actions``.
"""

from __future__ import annotations

from devstack.stripe_emulator.errors import invalid_request, no_such
from devstack.stripe_emulator.params import apply_metadata
from devstack.stripe_emulator.resources.customers import get_customer
from devstack.stripe_emulator.resources.invoice_items import line_json
from devstack.stripe_emulator.routing import ApiRoute, Call, paginate, route
from devstack.stripe_emulator.state import JSON, EmulatorState, Invoice, InvoiceItem, new_id, now

STATUSES = ("draft", "open", "paid", "uncollectible", "void")
COLLECTION_METHODS = ("charge_automatically", "send_invoice")


def invoice_lines(state: EmulatorState, invoice: Invoice) -> list[InvoiceItem]:
    """Return the items that make up the invoice's lines, in the order they were added."""
    return [state.invoice_items[item_id] for item_id in invoice.item_ids]


def invoice_total(state: EmulatorState, invoice: Invoice) -> int:
    """Return the invoice total (no taxes, discounts or balances in the emulator)."""
    return sum(item.amount for item in invoice_lines(state, invoice))


def invoice_json(state: EmulatorState, invoice: Invoice) -> JSON:
    """Return the endive wire shape of an invoice, lines included (first 10, as Stripe)."""
    if invoice.deleted:
        return {"id": invoice.id, "object": "invoice", "deleted": True}
    items = invoice_lines(state, invoice)
    total = sum(item.amount for item in items)
    customer = state.customers[invoice.customer]
    remaining = 0 if invoice.status in ("paid",) else total - invoice.amount_paid
    return {
        "id": invoice.id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Tenure Stripe emulator",
        "account_tax_ids": None,
        "amount_due": total,
        "amount_overpaid": 0,
        "amount_paid": invoice.amount_paid,
        "amount_paid_off_stripe": invoice.amount_paid if invoice.paid_out_of_band else None,
        "amount_remaining": remaining,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": invoice.attempt_count,
        "attempted": invoice.attempt_count > 0,
        "auto_advance": invoice.auto_advance,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "manual",
        "collection_method": invoice.collection_method,
        "confirmation_secret": None,
        "created": invoice.created,
        "currency": invoice.currency,
        "custom_fields": None,
        "customer": invoice.customer,
        "customer_account": None,
        "customer_address": customer.address,
        "customer_email": customer.email,
        "customer_name": customer.business_name or customer.name,
        "customer_phone": customer.phone,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [
            {"type": t.type, "value": t.value}
            for t in state.tax_ids.values()
            if t.customer == invoice.customer
        ],
        "default_payment_method": invoice.default_payment_method,
        "default_source": None,
        "default_tax_rates": [],
        "description": invoice.description,
        "discounts": [],
        "due_date": invoice.due_date,
        "effective_at": invoice.finalized_at,
        "ending_balance": None if invoice.status == "draft" else 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": invoice.hosted_invoice_url,
        "invoice_pdf": invoice.invoice_pdf,
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line_json(item) for item in items[:10]],
            "has_more": len(items) > 10,
            "url": f"/v1/invoices/{invoice.id}/lines",
        },
        "livemode": False,
        "metadata": dict(invoice.metadata),
        "next_payment_attempt": None,
        "number": invoice.number,
        "on_behalf_of": None,
        "parent": None,
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": invoice.created,
        "period_start": invoice.created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": invoice.status,
        "status_transitions": {
            "finalized_at": invoice.finalized_at,
            "marked_uncollectible_at": invoice.marked_uncollectible_at,
            "paid_at": invoice.paid_at,
            "voided_at": invoice.voided_at,
        },
        "subtotal": total,
        "subtotal_excluding_tax": total,
        "test_clock": None,
        "threshold_reason": None,
        "total": total,
        "total_discount_amounts": [],
        "total_excluding_tax": total,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": invoice.created,
    }


def get_invoice(call: Call) -> Invoice:
    """Return the invoice named in the URL, or raise 404 ``resource_missing``."""
    invoice = call.state.invoices.get(call.path["invoice"])
    if invoice is None or invoice.deleted:
        raise no_such("invoice", call.path["invoice"])
    return invoice


def create_invoice(call: Call) -> JSON:
    """``POST /v1/invoices``: a draft; pending items only with ``include``."""
    p = call.params
    p.only(
        "customer",
        "auto_advance",
        "collection_method",
        "currency",
        "days_until_due",
        "default_payment_method",
        "description",
        "due_date",
        "metadata",
        "pending_invoice_items_behavior",
    )
    customer_id = p.string("customer", required=True) or ""
    get_customer(call.state, customer_id, param="customer", in_path=False)
    method = p.choice("collection_method", COLLECTION_METHODS) or "charge_automatically"
    days = p.integer("days_until_due", minimum=0)
    due_date = p.integer("due_date")
    if method == "send_invoice" and days is None and due_date is None:
        raise invalid_request(
            "Missing required param: days_until_due or due_date (for send_invoice).",
            param="days_until_due",
            code="parameter_missing",
        )
    if method == "charge_automatically" and (days is not None or due_date is not None):
        raise invalid_request(
            "days_until_due and due_date are only valid with collection_method=send_invoice.",
            param="days_until_due" if days is not None else "due_date",
        )
    behavior = p.choice("pending_invoice_items_behavior", ("exclude", "include")) or "exclude"
    pending = [
        item
        for item in call.state.invoice_items.values()
        if item.customer == customer_id and item.invoice is None
    ]
    currency = (p.string("currency") or "").lower()
    if not currency:
        swept = pending if behavior == "include" else []
        currency = swept[0].currency if swept else call.settings.default_currency
    pm_id = p.string("default_payment_method")
    if pm_id and pm_id not in call.state.payment_methods:
        raise no_such("PaymentMethod", pm_id, param="default_payment_method", in_path=False)
    invoice = Invoice(
        id=new_id("in", 24),
        created=now(),
        customer=customer_id,
        currency=currency,
        collection_method=method,
        # Stripe defaults auto_advance to false for invoices created through the API.
        auto_advance=bool(p.boolean("auto_advance")),
        description=p.string("description"),
        metadata=apply_metadata({}, p.metadata()),
        days_until_due=days,
        due_date=due_date,
        default_payment_method=pm_id or None,
    )
    call.state.invoices[invoice.id] = invoice
    if behavior == "include":
        for item in pending:
            if item.currency == currency:
                item.invoice = invoice.id
                item.line_id = new_id("il", 24)
                invoice.item_ids.append(item.id)
    body = invoice_json(call.state, invoice)
    call.emit("invoice.created", body)
    return body


def retrieve_invoice(call: Call) -> JSON:
    """``GET /v1/invoices/{invoice}``."""
    return invoice_json(call.state, get_invoice(call))


def update_invoice(call: Call) -> JSON:
    """``POST /v1/invoices/{invoice}``: description, metadata, auto_advance."""
    call.params.only("description", "metadata", "auto_advance")
    invoice = get_invoice(call)
    before = invoice_json(call.state, invoice)
    if call.params.has("description"):
        invoice.description = call.params.string("description") or None
    auto_advance = call.params.boolean("auto_advance")
    if auto_advance is not None:
        invoice.auto_advance = auto_advance
    invoice.metadata = apply_metadata(invoice.metadata, call.params.metadata())
    after = invoice_json(call.state, invoice)
    previous: JSON = {k: v for k, v in before.items() if after.get(k) != v}
    if previous:
        call.emit("invoice.updated", after, previous)
    return after


def delete_invoice(call: Call) -> JSON:
    """``DELETE /v1/invoices/{invoice}``: drafts only; their items go with them."""
    invoice = get_invoice(call)
    if invoice.status != "draft":
        raise invalid_request("You can only delete draft invoices.", code="invoice_not_editable")
    snapshot = invoice_json(call.state, invoice)
    for item_id in invoice.item_ids:
        call.state.invoice_items.pop(item_id, None)
    invoice.item_ids.clear()
    invoice.deleted = True
    call.emit("invoice.deleted", snapshot)
    return invoice_json(call.state, invoice)


def list_invoices(call: Call) -> JSON:
    """``GET /v1/invoices`` filtered by ``customer``, ``status``, ``collection_method``."""
    p = call.params
    p.only("customer", "status", "collection_method", "limit", "starting_after", "ending_before")
    customer_id = p.string("customer")
    status = p.choice("status", STATUSES)
    method = p.choice("collection_method", COLLECTION_METHODS)
    items = [
        inv
        for inv in reversed(call.state.invoices.values())
        if not inv.deleted
        and (customer_id is None or inv.customer == customer_id)
        and (status is None or inv.status == status)
        and (method is None or inv.collection_method == method)
    ]
    return paginate(
        call, items, "/v1/invoices", lambda inv: invoice_json(call.state, inv), lambda inv: inv.id
    )


def list_lines(call: Call) -> JSON:
    """``GET /v1/invoices/{invoice}/lines`` (oldest line first, as Stripe lists lines)."""
    call.params.only("limit", "starting_after", "ending_before")
    invoice = get_invoice(call)
    items = invoice_lines(call.state, invoice)
    return paginate(call, items, f"/v1/invoices/{invoice.id}/lines", line_json, lambda i: i.line_id or "")


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/invoices", create_invoice),
    route("GET", "/v1/invoices", list_invoices),
    route("GET", "/v1/invoices/{invoice}", retrieve_invoice),
    route("POST", "/v1/invoices/{invoice}", update_invoice),
    route("DELETE", "/v1/invoices/{invoice}", delete_invoice),
    route("GET", "/v1/invoices/{invoice}/lines", list_lines),
]

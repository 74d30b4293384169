"""In-memory objects of the emulator and the one `EmulatorState` that holds them.

Objects are plain dataclasses; their wire shape (API version endive) is produced by
the ``to_json`` functions in ``resources/``, so the storage format can stay
minimal and typed.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

JSON = dict[str, object]

API_VERSION = "2026-10-28.endive"

_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, length: int = 14) -> str:
    """Return a Stripe-looking id such as ``cus_Nf3kR2pQxY7aBc``.

    Args:
        prefix: the object prefix without underscore (``cus``, ``in``...).
        length: number of random characters after the prefix.

    Returns:
        The id.
    """
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> int:
    """Return the current Unix time in whole seconds, as Stripe timestamps are."""
    return int(time.time())


@dataclass
class Customer:
    """A customer; ``deleted`` customers stay stored so retrieve can say so."""

    id: str
    created: int
    email: str | None = None
    name: str | None = None
    business_name: str | None = None
    description: str | None = None
    phone: str | None = None
    address: JSON | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    default_payment_method: str | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Decline:
    """How Stripe refuses a test card: ``code``, ``decline_code`` (None for the codes that are
    their own reason, such as ``expired_card``) and the message; ``requires_action`` when the
    refusal is a soft decline the customer can lift by authenticating (3-D Secure)."""

    code: str
    decline_code: str | None
    message: str
    requires_action: bool = False


@dataclass(frozen=True)
class MagicCard:
    """What a magic ``pm_card_*`` id stands for, and how it behaves."""

    number_last4: str
    brand: str
    decline_at_attach: bool
    charge_decline: Decline | None
    # Stripe's 3155 card: its SetupIntent waits for 3-D Secure (``requires_action``); once
    # authenticated, off-session charges succeed.
    authenticate_on_setup: bool = False

    @property
    def decline_at_charge(self) -> bool:
        """Whether every charge of this card is refused."""
        return self.charge_decline is not None


@dataclass
class PaymentMethod:
    """A card payment method created from a magic test id."""

    id: str
    created: int
    card: MagicCard
    exp_month: int
    exp_year: int
    customer: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class SetupIntent:
    """A SetupIntent; confirm moves it to ``succeeded`` and attaches the PM."""

    id: str
    created: int
    client_secret: str
    customer: str | None
    usage: str
    payment_method_types: list[str]
    status: str = "requires_payment_method"
    payment_method: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    last_setup_error: JSON | None = None
    next_action: JSON | None = None


@dataclass
class TaxId:
    """A customer tax id (``customer.tax_ids``)."""

    id: str
    created: int
    customer: str
    type: str
    value: str
    country: str | None
    verification_status: str


@dataclass
class InvoiceItem:
    """An invoice item: pending (``invoice`` None) or a line of an invoice."""

    id: str
    created: int
    customer: str
    amount: int
    currency: str
    quantity: int
    unit_amount_decimal: Decimal
    period_start: int
    period_end: int
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    discountable: bool = True
    invoice: str | None = None
    line_id: str | None = None


@dataclass
class Invoice:
    """An invoice created with ``invoices.create`` (no subscriptions here)."""

    id: str
    created: int
    customer: str
    currency: str
    collection_method: str
    auto_advance: bool
    status: str = "draft"
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    item_ids: list[str] = field(default_factory=list)
    number: str | None = None
    amount_paid: int = 0
    attempt_count: int = 0
    days_until_due: int | None = None
    due_date: int | None = None
    default_payment_method: str | None = None
    hosted_invoice_url: str | None = None
    invoice_pdf: str | None = None
    paid_out_of_band: bool = False
    finalized_at: int | None = None
    paid_at: int | None = None
    voided_at: int | None = None
    marked_uncollectible_at: int | None = None
    deleted: bool = False


@dataclass
class Event:
    """An event; ``data_object`` is a snapshot taken when the change happened."""

    id: str
    created: int
    type: str
    data_object: JSON
    previous_attributes: JSON | None
    request_id: str | None
    idempotency_key: str | None
    pending_webhooks: int = 0


@dataclass(frozen=True)
class RequestInfo:
    """Facts about the API request being served, echoed into events and URLs."""

    request_id: str
    idempotency_key: str | None
    base_url: str


# Called with each new event; returns how many webhook endpoints will receive it.
EventListener = Callable[[Event], int]


class EmulatorState:
    """Every object of the emulator. Mutated only while holding `lock`."""

    def __init__(self) -> None:
        """Create an empty state."""
        self.lock = asyncio.Lock()
        self.listener: EventListener | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every object and event (the lock and listener are kept)."""
        self.customers: dict[str, Customer] = {}
        self.payment_methods: dict[str, PaymentMethod] = {}
        self.setup_intents: dict[str, SetupIntent] = {}
        self.tax_ids: dict[str, TaxId] = {}
        self.invoice_items: dict[str, InvoiceItem] = {}
        self.invoices: dict[str, Invoice] = {}
        self.events: dict[str, Event] = {}
        self.invoice_sequence = 0

    def emit(
        self,
        event_type: str,
        data_object: JSON,
        request: RequestInfo | None,
        previous_attributes: JSON | None = None,
    ) -> Event:
        """Record an event and hand it to the webhook listener.

        Args:
            event_type: e.g. ``invoice.paid``.
            data_object: the object's JSON at the time of the change.
            request: the API request that caused it (None for automatic changes).
            previous_attributes: changed fields' old values, for ``*.updated``.

        Returns:
            The stored event.
        """
        event = Event(
            id=new_id("evt", 24),
            created=now(),
            type=event_type,
            data_object=data_object,
            previous_attributes=previous_attributes,
            request_id=request.request_id if request else None,
            idempotency_key=request.idempotency_key if request else None,
        )
        self.events[event.id] = event
        if self.listener is not None:
            event.pending_webhooks = self.listener(event)
        return event

    def live_customer(self, customer_id: str) -> Customer | None:
        """Return the customer unless it is unknown or deleted."""
        customer = self.customers.get(customer_id)
        return None if customer is None or customer.deleted else customer


def event_json(event: Event) -> JSON:
    """Return the endive wire shape of an event.

    Args:
        event: the stored event.

    Returns:
        The event JSON, as the API and webhooks send it.
    """
    data: JSON = {"object": event.data_object}
    if event.previous_attributes is not None:
        data["previous_attributes"] = event.previous_attributes
    return {
        "id": event.id,
        "object": "event",
        "api_version": API_VERSION,
        "created": event.created,
        "data": data,
        "livemode": False,
        "pending_webhooks": event.pending_webhooks,
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
        "type": event.type,
    }

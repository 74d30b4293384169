"""Request and response bodies of the billing endpoints (SPEC §3, §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Deliberately plain: one "@", a dot in the domain, no spaces. Deliverability is the
# mail provider's business; this only refuses what cannot be an address.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$"

DisplayStatus = Literal["Paid", "Unpaid", "Overdue", "Void"]
DISPLAY_STATUS: dict[str, DisplayStatus] = {
    "paid": "Paid",
    "unpaid": "Unpaid",
    "overdue": "Overdue",
    "void": "Void",
}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvoiceOut(BaseModel):
    """One invoice as the billing page lists it."""

    number: str
    issued_at: datetime
    period_start: datetime
    period_end: datetime
    total: int = Field(description="Minor units (cents).")
    currency: str
    status: DisplayStatus
    attempt_count: int
    pdf_url: str | None = Field(description="Stripe's PDF of the invoice (None until finalized).")
    hosted_url: str | None = Field(description="Stripe's hosted invoice page.")


class BillingDetailsIn(_Body):
    """The billing contact and company; the contact email is separate from any login email."""

    billing_email: str | None = Field(default=None, max_length=320, pattern=EMAIL_PATTERN)
    company_name: str | None = Field(default=None, min_length=1, max_length=200)
    purchasing_as_business: bool = False
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166 alpha-2.")


class CardOut(BaseModel):
    brand: str | None
    last4: str | None
    exp_month: int | None
    exp_year: int | None


class TaxIdOut(BaseModel):
    id: str
    type: str
    value: str
    country: str | None


class BillingDetailsOut(BaseModel):
    """Billing information of the billing page, with its warnings."""

    workspace_id: str
    billing_email: str | None
    company_name: str | None
    purchasing_as_business: bool
    country: str | None
    card: CardOut | None
    tax_ids: list[TaxIdOut]
    warnings: list[str]


class CardSetupOut(BaseModel):
    """Hand ``client_secret`` to Stripe.js (confirmCardSetup), then POST the SetupIntent id."""

    setup_intent_id: str
    client_secret: str


class CardSetupDone(_Body):
    setup_intent_id: str = Field(min_length=1, max_length=255)


class TaxIdIn(_Body):
    type: str = Field(min_length=2, max_length=20, pattern=r"^[a-z]{2,3}_[a-z]{2,5}$", examples=["eu_vat"])
    value: str = Field(
        min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$", examples=["DE123456789"]
    )

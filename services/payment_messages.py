"""Messages of the billing-details service (`services.payment_details`): contact and company,
the card, tax ids. In process, over the payment port; no workflow runs them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from billing.usage import UtcDatetime


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class BillingDetails(_Model):
    """Billing contact and company of a workspace (SPEC §3 billing details)."""

    workspace_id: str
    billing_email: str | None = None
    company_name: str | None = None
    purchasing_as_business: bool = False
    country: str | None = Field(default=None, min_length=2, max_length=2)


class StartCardSetup(_Model):
    """Begin a card change; ``request_id`` keys the SetupIntent (one per request)."""

    workspace_id: str
    request_id: str = Field(min_length=1)


class CardSetupStarted(_Model):
    setup_intent_id: str
    client_secret: str


class FinishCardSetup(_Model):
    workspace_id: str
    setup_intent_id: str


class AddTaxId(_Model):
    workspace_id: str
    request_id: str = Field(min_length=1)  # keys the Stripe write
    type: str  # eu_vat, gb_vat, au_abn, ...
    value: str


class RemoveTaxId(_Model):
    workspace_id: str
    stripe_tax_id: str


class TaxIdView(_Model):
    stripe_tax_id: str
    type: str
    value: str
    country: str | None
    created_at: UtcDatetime

"""Billing endpoints: invoices, billing details, the card (SetupIntent flow), tax ids.

Reads need a service token; changes also name the acting member (``X-Acting-User``), who
must be an active billing admin of the workspace (the catalog's ``roles.billing_admin``).
What each does, and the rules behind it: `services.billing_details`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from api.auth import authenticated
from api.deps import ServicesDep
from api.headers import ActingUser, IdempotencyKey, request_id
from services.billing_models import (
    BillingDetailsIn,
    BillingDetailsOut,
    CardOut,
    CardSetupDone,
    CardSetupOut,
    InvoiceOut,
    TaxIdIn,
    TaxIdOut,
)

router = APIRouter(
    prefix="/v1/workspaces/{workspace_id}", tags=["billing"], dependencies=[Depends(authenticated)]
)
TaxId = Annotated[str, Path(pattern=r"^txi_[A-Za-z0-9]{1,64}$", examples=["txi_123"])]


@router.get("/invoices", summary="The workspace's invoices, newest first")
async def list_invoices(workspace_id: str, services: ServicesDep) -> list[InvoiceOut]:
    return await services.billing.invoices(workspace_id)


@router.get("/billing-details", summary="Billing contact, company, card and tax ids, with warnings")
async def get_billing_details(workspace_id: str, services: ServicesDep) -> BillingDetailsOut:
    return await services.billing.details(workspace_id)


@router.put("/billing-details", summary="Set the billing contact and company")
async def put_billing_details(
    workspace_id: str, body: BillingDetailsIn, actor: ActingUser, services: ServicesDep
) -> BillingDetailsOut:
    return await services.billing.save_contact(workspace_id, actor, body)


@router.post("/payment-method/setup", summary="Start a card change (Stripe SetupIntent)")
async def start_card_setup(
    workspace_id: str, actor: ActingUser, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> CardSetupOut:
    # Without a key every call is a new SetupIntent (harmless: unconfirmed ones expire).
    return await services.billing.start_card_setup(workspace_id, actor, request_id(idempotency_key))


@router.post("/payment-method", summary="Finish a card change: the confirmed card becomes the default")
async def finish_card_setup(
    workspace_id: str, body: CardSetupDone, actor: ActingUser, services: ServicesDep
) -> CardOut:
    return await services.billing.finish_card_setup(workspace_id, actor, body.setup_intent_id)


@router.get("/tax-ids", summary="Tax ids (read from Stripe, mirrored)")
async def list_tax_ids(workspace_id: str, services: ServicesDep) -> list[TaxIdOut]:
    return await services.billing.list_tax_ids(workspace_id)


@router.post("/tax-ids", summary="Add a tax id", status_code=201)
async def add_tax_id(
    workspace_id: str,
    body: TaxIdIn,
    actor: ActingUser,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> TaxIdOut:
    # Without a key, the same tax id added twice is one Stripe write.
    key = idempotency_key or f"{body.type}:{body.value}"
    return await services.billing.add_tax_id(workspace_id, actor, body.type, body.value, key)


@router.delete("/tax-ids/{tax_id}", summary="Remove a tax id", status_code=204)
async def remove_tax_id(workspace_id: str, tax_id: TaxId, actor: ActingUser, services: ServicesDep) -> None:
    await services.billing.remove_tax_id(workspace_id, actor, tax_id)

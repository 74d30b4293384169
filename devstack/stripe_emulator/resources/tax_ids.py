"""``/v1/customers/{customer}/tax_ids``: create, list, retrieve, delete.

Format checks are deliberately coarse: they reject obvious garbage the way
Stripe's ``tax_id_invalid`` does, not every value a tax authority would refuse.
"""

from __future__ import annotations

import re

from devstack.stripe_emulator.errors import invalid_request, no_such
from devstack.stripe_emulator.resources.customers import get_customer
from devstack.stripe_emulator.routing import ApiRoute, Call, paginate, route
from devstack.stripe_emulator.state import JSON, TaxId, new_id, now

_EU_PREFIXES = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "EL",
    "ES",
    "FI",
    "FR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "XI",
]
# Greece uses EL in VAT numbers, Northern Ireland XI; both map to ISO countries.
_EU_COUNTRY = {"EL": "GR", "XI": "GB"}

_FORMATS: dict[str, re.Pattern[str]] = {
    "eu_vat": re.compile(r"^(?:" + "|".join(_EU_PREFIXES) + r")[0-9A-Z+*]{8,12}$"),
    "gb_vat": re.compile(r"^GB(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})$"),
    "au_abn": re.compile(r"^\d{11}$"),
    "nz_gst": re.compile(r"^\d{8,9}$"),
    "ca_gst_hst": re.compile(r"^\d{9}RT\d{4}$"),
    "in_gst": re.compile(r"^\d{2}[A-Z]{5}\d{4}[A-Z][0-9A-Z]Z[0-9A-Z]$"),
}
_FIXED_COUNTRY = {"gb_vat": "GB", "au_abn": "AU", "nz_gst": "NZ", "ca_gst_hst": "CA", "in_gst": "IN"}
# Stripe verifies these types asynchronously; the others are "unavailable".
_VERIFIED_TYPES = frozenset({"eu_vat", "gb_vat", "au_abn"})


def tax_id_json(tax_id: TaxId) -> JSON:
    """Return the endive wire shape of a customer tax id."""
    return {
        "id": tax_id.id,
        "object": "tax_id",
        "country": tax_id.country,
        "created": tax_id.created,
        "customer": tax_id.customer,
        "customer_account": None,
        "livemode": False,
        "owner": {
            "account": None,
            "application": None,
            "customer": tax_id.customer,
            "customer_account": None,
            "type": "customer",
        },
        "type": tax_id.type,
        "value": tax_id.value,
        "verification": {
            "status": tax_id.verification_status,
            "verified_address": None,
            "verified_name": None,
        },
    }


def normalize(tax_type: str, value: str) -> str:
    """Strip the separators people type (spaces, dots, dashes) and upper-case.

    Args:
        tax_type: a supported type.
        value: the value as entered.

    Returns:
        The compact value that the format check sees.
    """
    return re.sub(r"[\s.\-]", "", value).upper()


def check_value(tax_type: str, value: str) -> str | None:
    """Validate a value and derive its country.

    Args:
        tax_type: one of the supported types.
        value: the normalized value.

    Returns:
        The ISO country code, or None when the format is wrong.
    """
    if not _FORMATS[tax_type].match(value):
        return None
    if tax_type == "eu_vat":
        return _EU_COUNTRY.get(value[:2], value[:2])
    return _FIXED_COUNTRY[tax_type]


def _verification(tax_type: str, value: str) -> str:
    if tax_type not in _VERIFIED_TYPES:
        return "unavailable"
    # Stripe's documented test-mode magic values.
    if "111111111" in value:
        return "unverified"
    if "222222222" in value:
        return "pending"
    return "verified"


def create_tax_id(call: Call) -> JSON:
    """``POST /v1/customers/{customer}/tax_ids``."""
    call.params.only("type", "value")
    customer = get_customer(call.state, call.path["customer"])
    tax_type = call.params.string("type", required=True) or ""
    raw_value = call.params.string("value", required=True) or ""
    if tax_type not in _FORMATS:
        raise invalid_request(
            f"Invalid value for type: {tax_type!r} is not a tax id type supported by the "
            f"Tenure Stripe emulator ({', '.join(sorted(_FORMATS))}).",
            param="type",
        )
    value = normalize(tax_type, raw_value)
    country = check_value(tax_type, value)
    if country is None:
        raise invalid_request(f"Invalid value for {tax_type}.", param="value", code="tax_id_invalid")
    tax_id = TaxId(
        id=new_id("txi", 24),
        created=now(),
        customer=customer.id,
        type=tax_type,
        value=value,
        country=country,
        verification_status=_verification(tax_type, value),
    )
    call.state.tax_ids[tax_id.id] = tax_id
    body = tax_id_json(tax_id)
    call.emit("customer.tax_id.created", body)
    return body


def _get(call: Call) -> TaxId:
    customer = get_customer(call.state, call.path["customer"])
    tax_id = call.state.tax_ids.get(call.path["id"])
    if tax_id is None or tax_id.customer != customer.id:
        raise no_such("tax_id", call.path["id"])
    return tax_id


def retrieve_tax_id(call: Call) -> JSON:
    """``GET /v1/customers/{customer}/tax_ids/{id}``."""
    return tax_id_json(_get(call))


def delete_tax_id(call: Call) -> JSON:
    """``DELETE /v1/customers/{customer}/tax_ids/{id}``."""
    tax_id = _get(call)
    del call.state.tax_ids[tax_id.id]
    call.emit("customer.tax_id.deleted", tax_id_json(tax_id))
    return {"id": tax_id.id, "object": "tax_id", "deleted": True}


def list_tax_ids(call: Call) -> JSON:
    """``GET /v1/customers/{customer}/tax_ids``."""
    call.params.only("limit", "starting_after", "ending_before")
    customer = get_customer(call.state, call.path["customer"])
    items = [t for t in reversed(call.state.tax_ids.values()) if t.customer == customer.id]
    url = f"/v1/customers/{customer.id}/tax_ids"
    return paginate(call, items, url, tax_id_json, lambda t: t.id)


ROUTES: list[ApiRoute] = [
    route("POST", "/v1/customers/{customer}/tax_ids", create_tax_id),
    route("GET", "/v1/customers/{customer}/tax_ids", list_tax_ids),
    route("GET", "/v1/customers/{customer}/tax_ids/{id}", retrieve_tax_id),
    route("DELETE", "/v1/customers/{customer}/tax_ids/{id}", delete_tax_id),
]

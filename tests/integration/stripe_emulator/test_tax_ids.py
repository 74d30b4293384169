"""Customer tax ids: the six supported types, format checks, list and delete."""

from __future__ import annotations

import pytest
import stripe

from tests.integration.stripe_emulator.helpers import event_types


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create({"email": "tax@x.test"})


@pytest.mark.parametrize(
    ("tax_type", "value", "stored", "country", "verification"),
    [
        ("eu_vat", "DE123456789", "DE123456789", "DE", "verified"),
        ("eu_vat", "el 123 456 789", "EL123456789", "GR", "verified"),
        ("eu_vat", "FRAB123456789", "FRAB123456789", "FR", "verified"),
        ("gb_vat", "GB123456789", "GB123456789", "GB", "verified"),
        ("au_abn", "12345678912", "12345678912", "AU", "verified"),
        ("nz_gst", "123456789", "123456789", "NZ", "unavailable"),
        ("ca_gst_hst", "123456789RT0002", "123456789RT0002", "CA", "unavailable"),
        ("in_gst", "12ABCDE3456FGZH", "12ABCDE3456FGZH", "IN", "unavailable"),
        ("eu_vat", "DE111111111", "DE111111111", "DE", "unverified"),
    ],
)
def test_valid_tax_ids(
    client: stripe.StripeClient,
    customer: stripe.Customer,
    tax_type: str,
    value: str,
    stored: str,
    country: str,
    verification: str,
) -> None:
    tax_id = client.v1.customers.tax_ids.create(customer.id, {"type": tax_type, "value": value})
    assert isinstance(tax_id, stripe.TaxId)
    assert tax_id.id.startswith("txi_")
    assert (tax_id.type, tax_id.value, tax_id.country) == (tax_type, stored, country)
    assert tax_id.customer == customer.id
    assert tax_id.owner is not None
    assert tax_id.owner.customer == customer.id
    assert tax_id.verification is not None
    assert tax_id.verification.status == verification


@pytest.mark.parametrize(
    ("tax_type", "value"),
    [
        ("eu_vat", "not a vat"),
        ("eu_vat", "US123456789"),
        ("gb_vat", "GB12"),
        ("au_abn", "1234"),
        ("nz_gst", "12-34"),
        ("ca_gst_hst", "123456789"),
        ("in_gst", "garbagegarbage1"),
    ],
)
def test_garbage_values_are_tax_id_invalid(
    client: stripe.StripeClient, customer: stripe.Customer, tax_type: str, value: str
) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.tax_ids.create(customer.id, {"type": tax_type, "value": value})
    assert excinfo.value.http_status == 400
    assert excinfo.value.code == "tax_id_invalid"
    assert excinfo.value.param == "value"


def test_unknown_type_is_400(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.tax_ids.create(customer.id, {"type": "uk_vat", "value": "GB123456789"})
    assert excinfo.value.http_status == 400
    assert excinfo.value.param == "type"


def test_list_retrieve_delete(client: stripe.StripeClient, customer: stripe.Customer) -> None:
    vat = client.v1.customers.tax_ids.create(customer.id, {"type": "eu_vat", "value": "DE123456789"})
    abn = client.v1.customers.tax_ids.create(customer.id, {"type": "au_abn", "value": "12345678912"})
    listed = client.v1.customers.tax_ids.list(customer.id)
    assert [t.id for t in listed.data] == [abn.id, vat.id]
    assert client.v1.customers.tax_ids.retrieve(customer.id, vat.id).value == "DE123456789"

    deleted = client.v1.customers.tax_ids.delete(customer.id, vat.id)
    assert deleted.id == vat.id
    assert deleted.deleted is True
    assert [t.id for t in client.v1.customers.tax_ids.list(customer.id).data] == [abn.id]
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.tax_ids.retrieve(customer.id, vat.id)
    assert excinfo.value.http_status == 404
    types = event_types(client)
    assert types.count("customer.tax_id.created") == 2
    assert types.count("customer.tax_id.deleted") == 1

"""``customers.search`` and ``invoices.search`` by metadata, as Stripe's query language has them."""

from __future__ import annotations

import pytest
import stripe


def test_customers_search_by_metadata(client: stripe.StripeClient) -> None:
    mine = client.v1.customers.create({"email": "m@x.test", "metadata": {"workspace_id": "ws-1"}})
    client.v1.customers.create({"email": "o@x.test", "metadata": {"workspace_id": "ws-2"}})
    found = client.v1.customers.search({"query": "metadata['workspace_id']:'ws-1'"})
    assert [c.id for c in found.data] == [mine.id]
    assert found.to_dict()["object"] == "search_result"
    both = client.v1.customers.search({"query": "email:'m@x.test' OR email:'o@x.test'"})
    assert len(both.data) == 2


def test_invoices_search_by_metadata_and_customer(client: stripe.StripeClient) -> None:
    cus = client.v1.customers.create({"email": "i@x.test"})
    inv = client.v1.invoices.create({"customer": cus.id, "metadata": {"number": "TN-1"}})
    client.v1.invoices.create({"customer": cus.id, "metadata": {"number": "TN-2"}})
    found = client.v1.invoices.search({"query": f"metadata['number']:'TN-1' AND customer:'{cus.id}'"})
    assert [i.id for i in found.data] == [inv.id]
    assert client.v1.invoices.search({"query": "metadata['number']:'TN-9'"}).data == []


@pytest.mark.parametrize(
    "query", ["metadata:'x'", "nope:'x'", "email:'a' AND email:'b' OR email:'c'", "email=x"]
)
def test_unsupported_queries_are_400(client: stripe.StripeClient, query: str) -> None:
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        client.v1.customers.search({"query": query})
    assert excinfo.value.param == "query"

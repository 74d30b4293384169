"""The bracket-notation form decoder of the Stripe emulator."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from stripe._encode import _api_encode

from devstack.stripe_emulator.forms import FormDecodeError, decode_form, decode_pairs, split_key


def test_flat_pairs_stay_strings() -> None:
    assert decode_form("customer=cus_1&amount=500&auto_advance=false") == {
        "customer": "cus_1",
        "amount": "500",
        "auto_advance": "false",
    }


def test_nested_hashes() -> None:
    body = "metadata[plan]=pro&metadata[seats]=3&invoice_settings[default_payment_method]=pm_x"
    assert decode_form(body) == {
        "metadata": {"plan": "pro", "seats": "3"},
        "invoice_settings": {"default_payment_method": "pm_x"},
    }


def test_indexed_arrays_are_ordered_by_index() -> None:
    assert decode_form("expand[1]=b&expand[0]=a&expand[2]=c") == {"expand": ["a", "b", "c"]}


def test_empty_brackets_append() -> None:
    assert decode_form("types[]=invoice.paid&types[]=invoice.voided") == {
        "types": ["invoice.paid", "invoice.voided"]
    }


def test_arrays_of_hashes() -> None:
    body = "items[0][price]=p_1&items[0][quantity]=2&items[1][price]=p_2"
    assert decode_form(body) == {"items": [{"price": "p_1", "quantity": "2"}, {"price": "p_2"}]}


def test_percent_encoding_and_blank_values() -> None:
    assert decode_form(b"description=Seats+%26+more&address=&metadata[note]=a%3Db") == {
        "description": "Seats & more",
        "address": "",
        "metadata": {"note": "a=b"},
    }


def test_repeated_scalar_keeps_last_value() -> None:
    assert decode_form("email=a@x&email=b@x") == {"email": "b@x"}


def test_empty_body() -> None:
    assert decode_form(b"") == {}


@pytest.mark.parametrize(
    ("key", "segments"),
    [
        ("a", ["a"]),
        ("a[b]", ["a", "b"]),
        ("a[b][0][c]", ["a", "b", "0", "c"]),
        ("a[]", ["a", ""]),
    ],
)
def test_split_key(key: str, segments: list[str]) -> None:
    assert split_key(key) == segments


@pytest.mark.parametrize("key", ["a[b", "a]b", "[a]", "a[b]c", "a[b[c]]"])
def test_malformed_keys_are_rejected(key: str) -> None:
    with pytest.raises(FormDecodeError):
        split_key(key)


@pytest.mark.parametrize(
    "pairs",
    [
        [("metadata", "x"), ("metadata[k]", "v")],
        [("metadata[k]", "v"), ("metadata", "x")],
        [("a[b]", "1"), ("a[b][c]", "2")],
    ],
)
def test_scalar_and_container_conflict(pairs: list[tuple[str, str]]) -> None:
    with pytest.raises(FormDecodeError):
        decode_pairs(pairs)


def test_round_trip_of_what_the_sdk_sends() -> None:
    """Whatever stripe-python encodes, the decoder gives back (values as strings)."""
    params: dict[str, object] = {
        "customer": "cus_1",
        "auto_advance": False,
        "period": {"start": 1700000000, "end": 1702592000},
        "metadata": {"engine_invoice": "inv-7", "tenant": "t 1"},
        "expand": ["lines", "customer"],
        "items": [{"price": "p_1", "quantity": 2}],
    }
    encoded = urlencode(list(_api_encode(params))).replace("%5B", "[").replace("%5D", "]")
    assert decode_form(encoded) == {
        "customer": "cus_1",
        "auto_advance": "false",
        "period": {"start": "1700000000", "end": "1702592000"},
        "metadata": {"engine_invoice": "inv-7", "tenant": "t 1"},
        "expand": ["lines", "customer"],
        "items": [{"price": "p_1", "quantity": "2"}],
    }

"""Stripe idempotency keys travel in an HTTP header: caller-chosen parts must not break it."""

from __future__ import annotations

import pytest

from activities.payments import customer_key, setup_key, tax_id_key


def test_plain_keys_keep_their_value() -> None:
    # Unchanged for every key that was already valid: idempotency across the rule's introduction.
    assert setup_key("acme", "k1") == "setup:acme:k1"
    assert tax_id_key("acme", "eu_vat:DE123") == "customer:acme:tax_id:eu_vat:DE123"
    assert customer_key("acme") == "customer:acme:create"


@pytest.mark.parametrize("part", ["Z ", "é", "\u009f", "a\nb", "\ud800", "x" * 300])
def test_unsafe_parts_become_a_stable_digest(part: str) -> None:
    key = setup_key("acme", part)
    assert key.startswith("sha256:")
    assert key.isascii()
    assert len(key) <= 255
    assert key == setup_key("acme", part)
    assert key != setup_key("acme", part + "!")

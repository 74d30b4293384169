"""The one billing-admin rule: an active member holding one of the catalog's admin roles."""

from __future__ import annotations

import pytest

from billing.authorization import is_billing_admin, require_billing_admin
from billing.errors import DomainError

ADMINS = ("owner", "admin")


@pytest.mark.parametrize(
    ("status", "role", "admin"),
    [
        ("active", "admin", True),
        ("active", "owner", True),
        ("active", "member", False),
        ("suspended", "admin", False),  # a revert suspended them: they administer nothing
        (None, None, False),  # not a member
    ],
)
def test_who_administers_billing(status: str | None, role: str | None, admin: bool) -> None:
    assert is_billing_admin(status, role, ADMINS) is admin


def test_a_refusal_is_forbidden_with_the_callers_details() -> None:
    with pytest.raises(DomainError) as refused:
        require_billing_admin("active", "member", ADMINS, "no", {"actor": "bob"})
    assert (refused.value.code, refused.value.message, refused.value.details) == (
        "forbidden",
        "no",
        {"actor": "bob"},
    )
    require_billing_admin("active", "admin", ADMINS, "no")

"""Who may change billing: the one rule behind the workflow's command check and the services'
billing-details, card and tax-id changes (SPEC §2).

A billing admin is an *active* member whose role is one of the catalog's
``roles.billing_admin``. Callers pass what they know of the member (the workflow its state,
the services a database row), so the rule never depends on where the roster was read.
"""

from __future__ import annotations

from collections.abc import Collection

from billing.errors import FORBIDDEN, DomainError


def is_billing_admin(status: str | None, role: str | None, admin_roles: Collection[str]) -> bool:
    """Whether a member with ``status`` and ``role`` (None: not a member) may change billing."""
    return status == "active" and role is not None and role in admin_roles


def require_billing_admin(
    status: str | None,
    role: str | None,
    admin_roles: Collection[str],
    message: str,
    details: dict[str, object] | None = None,
) -> None:
    """Refuse unless the member is a billing admin.

    Raises:
        DomainError: ``forbidden`` with ``message`` and ``details``.
    """
    if not is_billing_admin(status, role, admin_roles):
        raise DomainError(FORBIDDEN, message, details)

"""How the billing page writes money and dates (one place, so every section agrees).

Amounts are integers in the currency's minor unit (cents), as everywhere in Tenure. Dates are
UTC and say so: a page read in Tokyo and in Lisbon shows the same instant.
"""

from __future__ import annotations

from datetime import datetime

_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "chf": "CHF "}
# Currencies without a minor unit (Stripe's zero-decimal list, the common ones).
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}


def money(minor: int, currency: str) -> str:
    """``1234567, "usd"`` → ``$12,345.67``; negative amounts keep their sign in front."""
    code = currency.lower()
    sign = "-" if minor < 0 else ""
    value = abs(minor)
    number = f"{value:,}" if code in _ZERO_DECIMAL else f"{value // 100:,}.{value % 100:02d}"
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{number} {code.upper()}"


def when(at: datetime | None) -> str:
    """``2026-12-06 22:00 UTC`` (empty for no date)."""
    return "" if at is None else f"{at:%Y-%m-%d %H:%M} UTC"


def day(at: datetime | None) -> str:
    """``6 Dec 2026`` (UTC)."""
    return "" if at is None else f"{at.day} {at:%b %Y}"

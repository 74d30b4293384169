"""Money: integer minor units of one currency, and the one rounding rule.

Amounts never pass through floats. Ratios (proration fractions, projections) are
`fractions.Fraction`; they become money exactly once, per invoice line, through
`round_half_up`.
"""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict


def round_half_up(value: Fraction) -> int:
    """Round a ratio to the nearest integer, halves away from zero.

    This is the single named rounding rule of Tenure: applied once per invoice line
    (and once per prorated credit allowance), never to intermediate values.

    Args:
        value: the exact amount, e.g. ``Fraction(15, 30) * 3000``.

    Returns:
        The integer nearest to ``value``; ``x.5`` goes away from zero.
    """
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    whole, remainder = divmod(magnitude.numerator, magnitude.denominator)
    if 2 * remainder >= magnitude.denominator:
        whole += 1
    return sign * whole


class Money(BaseModel):
    """An amount in minor units (cents) of one currency."""

    model_config = ConfigDict(frozen=True)

    amount: int
    currency: str

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def scaled(self, ratio: Fraction | int) -> Money:
        """Multiply by an exact ratio, rounding once with `round_half_up`."""
        return Money(amount=round_half_up(Fraction(self.amount) * ratio), currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

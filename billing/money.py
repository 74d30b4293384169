"""Money: integer minor units, and the one rounding rule.

Amounts never pass through floats. Ratios (proration fractions, projections) are
`fractions.Fraction`; they become money exactly once, per invoice line, through
`round_half_up`.

Amounts are bare ``int`` cents, not a ``Money(amount, currency)`` value: a subscription has
one currency, its catalog's, and the only place an amount leaves it is an invoice, which
carries that currency once (`InvoiceDraft.currency`, then the Stripe invoice). A currency
on every line and balance would be checked against itself only, and would make every state
carried in workflow histories larger. A ``Money`` type was written for this and never used;
it is gone rather than left to suggest a rule nothing follows.
"""

from __future__ import annotations

from fractions import Fraction


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

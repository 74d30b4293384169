"""Invoice models: lines, drafts posted by the engine, and the invoice record kept in state."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from pydantic import BaseModel, ConfigDict

from billing.money import round_half_up
from billing.periods import Cycle, Period
from billing.usage import UtcDatetime

LineKind = Literal[
    "seat",
    "seat_proration",
    "seat_credit",
    "plan",
    "plan_proration",
    "credits_overage",
    "serverless_minutes",
    "contract",
    "credit_balance",
]
"""The line kinds of SPEC §7, exactly."""

ItemKind = Literal[
    "plan", "seat", "contract", "contract_seats", "credits", "serverless_minutes", "credit_balance"
]
"""What a line charges for, whatever its proration: the product, not the line kind."""

InvoiceStatus = Literal["unpaid", "paid", "overdue", "void"]
"""Display statuses of SPEC §3 (Unpaid, Paid, Overdue, Void)."""


class LineItem(BaseModel):
    """What a line charges for, as data rather than display text.

    The description is for people: two seat types may share a display name, so drafts
    merge lines by their item and Stripe's metadata carries the codes.
    """

    model_config = ConfigDict(frozen=True)

    kind: ItemKind
    code: str | None = None
    """The plan code, the seat type code, or the seat request of a contract's seats."""
    cycle: Cycle | None = None


class InvoiceLine(BaseModel):
    """One invoice line; ``amount`` is already rounded (once, half-up).

    For a prorated line ``quantity`` is 1 and ``unit_amount`` equals the prorated amount;
    the ratio is in ``description``. ``item`` is None only on lines drafted before lines
    carried one (states of runs recorded earlier).
    """

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: UtcDatetime
    period_end: UtcDatetime
    item: LineItem | None = None


def line(
    kind: LineKind, item: LineItem, description: str, quantity: int, unit_amount: int, period: Period
) -> InvoiceLine:
    """A whole-unit line: ``amount = quantity * unit_amount``."""
    return InvoiceLine(
        kind=kind,
        item=item,
        description=description,
        quantity=quantity,
        unit_amount=unit_amount,
        amount=quantity * unit_amount,
        period_start=period.start,
        period_end=period.end,
    )


def prorated_line(
    kind: LineKind, item: LineItem, description: str, price: int, ratio: Fraction, period: Period
) -> InvoiceLine:
    """A prorated line: ``round_half_up(price * ratio)``, rounded once, here.

    Args:
        kind: ``seat_proration``, ``seat_credit`` (pass a negative price) or
            ``plan_proration``.
        item: what is prorated.
        description: what is prorated; the ratio is appended.
        price: the full-period price (negative for a credit).
        ratio: days affected / days in the period or term.
        period: the days the line covers.
    """
    amount = round_half_up(price * ratio)
    return InvoiceLine(
        kind=kind,
        item=item,
        description=f"{description} ({ratio.numerator}/{ratio.denominator} of {price})",
        quantity=1,
        unit_amount=amount,
        amount=amount,
        period_start=period.start,
        period_end=period.end,
    )


class InvoiceDraft(BaseModel):
    """An invoice the engine decided to post (the `PostInvoice` effect carries it)."""

    model_config = ConfigDict(frozen=True)

    number: str
    issued_at: UtcDatetime
    period_start: UtcDatetime
    period_end: UtcDatetime
    currency: str
    lines: tuple[InvoiceLine, ...]
    total: int


class OpenInvoice(BaseModel):
    """An in-advance invoice inside its draft window (see `billing.invoicing.drafts`).

    It is issued at ``issued_at`` and posted at ``finalize_at``; until then charges of
    the same period amend its lines. It has no number yet (allocated when it posts, so
    a dropped draft leaves no gap) and no ``credit_balance`` line (applied when it posts).
    """

    model_config = ConfigDict(frozen=True)

    issued_at: UtcDatetime
    finalize_at: UtcDatetime
    period_start: UtcDatetime
    period_end: UtcDatetime
    lines: tuple[InvoiceLine, ...]

    @property
    def period(self) -> Period:
        return Period(start=self.period_start, end=self.period_end)

    @property
    def total(self) -> int:
        """The lines' sum, before the credit balance."""
        return sum(item.amount for item in self.lines)


class InvoiceRef(BaseModel):
    """What the subscription state remembers of a posted invoice (for dunning and display)."""

    model_config = ConfigDict(frozen=True)

    number: str
    issued_at: UtcDatetime
    total: int
    status: InvoiceStatus
    overdue_at: UtcDatetime
    # The last failed payment attempt: the overview warns from the first one (SPEC §5).
    payment_failed_at: UtcDatetime | None = None
    # The last failure's code (``insufficient_funds``, ``authentication_required``...), and
    # whether only the customer can lift it (`dunning.needs_customer_action`), with the page
    # where they can (Stripe's hosted invoice page).
    decline_code: str | None = None
    action_required: bool = False
    action_url: str | None = None

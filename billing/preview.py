"""Preview = apply: the invoice lines a command would add, computed by applying it.

`preview` catches the clock up, runs the very transition `apply` runs on that state,
and reports the invoices it posts at once, the open draft invoice it opens or amends
(posted when its window ends, `billing.invoicing.drafts`) and the adjustments it accrues for the
next invoice. Nothing is computed twice, so a quote shown to a user is the charge.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from billing.catalog import Catalog
from billing.changes import evolve
from billing.commands import Command
from billing.deadlines import advance
from billing.effects import Effect, PostInvoice
from billing.invoicing.invoices import InvoiceDraft, InvoiceLine, OpenInvoice
from billing.lifecycle import run_command
from billing.periods import Period
from billing.state import BillingState
from billing.usage import UsageTotals


class Preview(BaseModel):
    """What a command would put on invoices.

    Attributes:
        invoices: invoices the command posts at once (no draft window, or a final invoice).
        draft: the open draft invoice as the command leaves it, when the command opened or
            amended it (checkout, a seat on its period's first day, contract): what will be
            posted when its window ends. Its lines are before the credit balance.
        draft_change: how much the command changed the draft's total (negative when it
            took a seat off it; minus the whole draft when it emptied it).
        accrued: adjustment lines it adds to the next invoice.
        effective_at: when the change takes effect (None: now or nothing to do).
    """

    model_config = ConfigDict(frozen=True)

    invoices: tuple[InvoiceDraft, ...]
    accrued: tuple[InvoiceLine, ...]
    draft: OpenInvoice | None = None
    draft_change: int = 0
    effective_at: datetime | None = None

    @property
    def lines(self) -> list[InvoiceLine]:
        """Every line, invoiced now, on the open draft, or next."""
        drafted = self.draft.lines if self.draft is not None else ()
        return [*(ln for inv in self.invoices for ln in inv.lines), *drafted, *self.accrued]

    @property
    def due_now(self) -> int:
        """What the command charges now or when the open draft posts."""
        return sum(inv.total for inv in self.invoices) + self.draft_change


def lines_added(before: BillingState, after: BillingState, effects: list[Effect]) -> Preview:
    """The invoice lines a transition from ``before`` to ``after`` added."""
    posted = tuple(e.invoice for e in effects if isinstance(e, PostInvoice))
    kept = len(before.accrued)
    # When the accrued lines were invoiced (they are in ``posted``), all left are new.
    unchanged = after.accrued[:kept] == before.accrued
    new_accrued = after.accrued[kept:] if unchanged else after.accrued
    old, new = before.open_invoice, after.open_invoice
    if old == new:
        return Preview(invoices=posted, accrued=tuple(new_accrued))
    # The old draft's total no longer pending: it was amended, dropped or replaced; unless
    # the command posted it (it is in ``posted``; a draft is its issue instant and period).
    pending = old is not None and not any(
        (inv.issued_at, inv.period_start) == (old.issued_at, old.period_start) for inv in posted
    )
    change = (new.total if new is not None else 0) - (old.total if old is not None and pending else 0)
    return Preview(invoices=posted, accrued=tuple(new_accrued), draft=new, draft_change=change)


def preview(
    state: BillingState,
    command: Command,
    at: datetime,
    catalog: Catalog,
    usage: Mapping[Period, UsageTotals] | None = None,
) -> Preview:
    """The lines applying ``command`` at ``at`` adds (refusals raise like `apply`).

    Clock events due before ``at`` are applied first and are not part of the preview.
    A request id already processed previews nothing (applying it changes nothing).
    """
    if command.request_id in state.processed:
        return Preview(invoices=(), accrued=())
    base = advance(state, at, catalog, usage).state
    outcome = run_command(base, command, at, catalog)
    found = lines_added(base, outcome.state, outcome.effects)
    return evolve(found, effective_at=outcome.effective_at)

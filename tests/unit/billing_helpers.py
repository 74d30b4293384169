"""Helpers shared by the lifecycle tests: a tiny driver over the public API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import count

from billing import (
    COMMAND_ADAPTER,
    BillingState,
    Catalog,
    Command,
    Decision,
    Effect,
    InvoiceDraft,
    Member,
    Period,
    PostInvoice,
    RecordEvent,
    UsageTotals,
    advance,
    apply,
    load_catalog,
    new_subscription,
    next_deadline,
    on_invoice_event,
    usage_due,
)

SEATS = load_catalog("seats")
CREDITS = load_catalog("credits")
_ids = count(1)


def t(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def cmd(kind: str, **fields: object) -> Command:
    """Build a command from its wire shape (as the API and the scenario runner do)."""
    return COMMAND_ADAPTER.validate_python({"kind": kind, "request_id": f"r{next(_ids)}", **fields})


class Driver:
    """Applies commands and clock ticks, collecting posted invoices and the timeline."""

    def __init__(
        self,
        catalog: Catalog,
        at: datetime,
        members: Mapping[str, str] | None = None,
        usage: Mapping[Period, UsageTotals] | None = None,
        *,
        autopay: bool = True,
    ) -> None:
        self.catalog = catalog
        self.autopay = autopay
        roster = {u: Member(role=r, role_granted_at=at) for u, r in (members or {}).items()}
        self.usage: dict[Period, UsageTotals] = dict(usage or {})
        self.invoices: list[InvoiceDraft] = []
        self.events: list[RecordEvent] = []
        self.effects: list[Effect] = []
        self.latest = at  # the last instant the story reached
        self.state: BillingState = self._take(new_subscription("acme", catalog, at, roster))

    def _take(self, decision: Decision) -> BillingState:
        for effect in decision.effects:
            self.effects.append(effect)
            if isinstance(effect, PostInvoice):
                self.invoices.append(effect.invoice)
                if self.autopay and effect.invoice.total > 0:
                    paid = on_invoice_event(
                        decision.state,
                        effect.invoice.number,
                        "paid",
                        effect.invoice.issued_at,
                        self.catalog,
                    )
                    decision = decision.model_copy(update={"state": paid.state})
            if isinstance(effect, RecordEvent):
                self.events.append(effect)
        return decision.state

    def _usage(self, at: datetime, command: Command | None = None) -> dict[Period, UsageTotals]:
        windows = usage_due(self.state, at, self.catalog, command)
        return {p: self.usage.get(p, UsageTotals()) for p in windows}

    def run(self, at: datetime, kind: str, **fields: object) -> Decision:
        command = cmd(kind, **fields)
        self.tick(at)
        decision = apply(self.state, command, at, self.catalog, self._usage(at, command))
        self.state = self._take(decision)
        return decision

    def tick(self, at: datetime) -> None:
        """Advance deadline by deadline, as the workflow does (so autopay happens in time)."""
        self.latest = max(self.latest, at)
        while (due := next_deadline(self.state)) is not None and due <= at:
            self.state = self._take(advance(self.state, due, self.catalog, self._usage(due)))

    @property
    def status(self) -> str:
        """The status now (a property, so checks after a tick are not narrowed away)."""
        return self.state.status

    def event_names(self) -> list[str]:
        return [e.event for e in self.events]

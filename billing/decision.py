"""What every transition returns: the new state, the effects to perform, and a result."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from billing.effects import Effect, EventData, RecordEvent
from billing.errors import NOT_ALLOWED_IN_STATUS, DomainError
from billing.state import BillingState, CommandResult


class Decision(BaseModel):
    """The outcome of `apply`, `advance` or `on_invoice_event`.

    Attributes:
        state: the new state (the input state is never modified).
        effects: what the workflow must do, in order.
        result: the command's result (None for clock and invoice events).
    """

    model_config = ConfigDict(frozen=True)

    state: BillingState
    effects: list[Effect]
    result: CommandResult | None = None


class Outcome(NamedTuple):
    """Internal result of one transition, before the command result is recorded."""

    state: BillingState
    effects: list[Effect]
    message: str = ""
    effective_at: datetime | None = None

    def state_and_effects(self) -> tuple[BillingState, list[Effect]]:
        """The two fields a caller folding transitions together keeps (not ``[:2]``: a
        slice says nothing of what it keeps, and would keep other fields if reordered)."""
        return self.state, self.effects


def event(name: str, at: datetime, **data: str | int | datetime | None) -> RecordEvent:
    """A timeline effect; datetimes in ``data`` become ISO 8601 strings."""
    clean: EventData = {
        key: value.isoformat() if isinstance(value, datetime) else value for key, value in data.items()
    }
    return RecordEvent(event=name, at=at, data=clean)


def require_status(state: BillingState, allowed: Collection[str], action: str) -> None:
    """Refuse ``action`` unless the status is one of ``allowed``.

    Raises:
        DomainError: ``not_allowed_in_status``.
    """
    if state.status not in allowed:
        raise DomainError(
            NOT_ALLOWED_IN_STATUS,
            f"cannot {action} while the subscription is {state.status}",
            {"status": state.status, "allowed": sorted(allowed)},
        )

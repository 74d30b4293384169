"""The entitlements messages: the snapshot a decision records, and what the API and the
HTTP client (`client.entitlements`) exchange. The rule itself is `billing.entitlements`."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from billing.entitlements import (
    CheckResult,
    CreditsView,
    Entitlements,
    Grant,
    LimitName,
    LimitView,
    SubscriptionCounts,
)

__all__ = [
    "MAX_QUANTITY",
    "CheckResult",
    "CreditsView",
    "EntitlementCheck",
    "Entitlements",
    "EntitlementsSnapshot",
    "LimitName",
    "LimitView",
]

MAX_QUANTITY: Final = 1_000_000


class EntitlementsSnapshot(BaseModel):
    """What one decision records of the entitlements (computed in the workflow from its
    state, so nothing at read time asks Temporal)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grant: Grant
    counts: SubscriptionCounts


class EntitlementCheck(BaseModel):
    """``POST …/entitlements/check``: exactly one of ``feature`` or ``limit`` (with an
    optional ``quantity``, 1 by default: how many more the product wants to add)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str | None = Field(default=None, min_length=1, max_length=64, description="e.g. sso")
    limit: LimitName | None = Field(default=None, description="members, paid_seats, connectors or spaces")
    quantity: int | None = Field(
        default=None, ge=1, le=MAX_QUANTITY, description="How many more (limit only)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> EntitlementCheck:
        if (self.feature is None) == (self.limit is None):
            raise ValueError("give exactly one of feature or limit")
        if self.feature is not None and self.quantity is not None:
            raise ValueError("quantity goes with a limit, not a feature")
        return self

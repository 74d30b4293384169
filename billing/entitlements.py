"""A workspace's entitlements (issue 15): what its subscription grants now, and the check.

Pure. The workflow computes the `Grant` from its state at every decision (`grant`), with the
two counts only it knows exactly (`subscription_counts`: active members, paid seats); the
database keeps both as a projection and counts what only it knows (connectors, spaces) when
it is read. `check_feature` and `check_limit` answer "may it use X / add N more of Y?".

The limits are the catalog's, read the way the engine enforces them: on a ``free`` workspace
the free plan's (`Catalog.free_limits`, the `free_limit_exceeded` rule), paid seats as
`assign_seat` and the paid-role rule count them (`seat_limit_reached`), otherwise the plan in
effect (or selected in the trial). ``None`` is unlimited. Where the engine enforces a limit
the check agrees with it exactly; the plan's other limits (a business workspace's
connectors and spaces) are the product's to enforce, through the check.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt

from billing.allowance import allowance
from billing.catalog import Catalog
from billing.members import paid_user_limit
from billing.state import BillingState, seats_held
from billing.usage import UtcDatetime

LimitName = Literal["members", "paid_seats", "connectors", "spaces"]
LIMIT_NAMES: Final[tuple[LimitName, ...]] = ("members", "paid_seats", "connectors", "spaces")

# The statuses whose workspace is granted nothing: the trial ended with no plan, the paid
# life ended without a free plan, or the workspace is gone. ``past_due`` keeps access (the
# engine still treats it as paid and dunning is running), as do ``canceling`` (paid until
# ``cancel_at``), ``trialing`` and ``free`` (the free plan's entitlements).
INACTIVE_STATUSES: Final = frozenset({"trial_expired", "canceled", "deleted"})

FEATURE_NOT_IN_PLAN: Final = "feature_not_in_plan"
LIMIT_REACHED: Final = "limit_reached"
SUBSCRIPTION_INACTIVE: Final = "subscription_inactive"
Reason = Literal["feature_not_in_plan", "limit_reached", "subscription_inactive"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Limits(_Frozen):
    """The most of each thing a workspace may have (``None``: unlimited)."""

    members: NonNegativeInt | None = None
    paid_seats: NonNegativeInt | None = None
    connectors: NonNegativeInt | None = None
    spaces: NonNegativeInt | None = None

    def of(self, name: LimitName) -> int | None:
        """The value of limit ``name``."""
        value: int | None = getattr(self, name)
        return value


class Grant(_Frozen):
    """What the subscription grants: a change of any field is an ``entitlements.updated``.

    Attributes:
        active: False when nothing is granted (`INACTIVE_STATUSES`).
        features: the plan's features; empty while inactive.
        credits_included: credits the current window includes (None: no allowance).
        credits_window_start: the window the credits are counted over (the allowance's).
    """

    catalog: str
    plan: str | None
    status: str
    active: bool
    features: tuple[str, ...] = ()
    limits: Limits = Limits()
    credits_included: NonNegativeInt | None = None
    credits_window_start: UtcDatetime | None = None
    credits_window_end: UtcDatetime | None = None


class SubscriptionCounts(_Frozen):
    """The counts the subscription itself keeps (the workflow is the roster's one writer)."""

    members: NonNegativeInt = 0
    paid_seats: NonNegativeInt = 0


def catalog_features(catalog: Catalog) -> frozenset[str]:
    """Every feature any plan of ``catalog`` grants: the names a check may ask about."""
    return frozenset(f for plan in catalog.plans.values() for f in plan.features)


def _paid_seat_limit(state: BillingState, catalog: Catalog) -> int | None:
    # As the engine refuses: `billing.seats.assign_seat` (seats) and the paid-role rule
    # of `billing.members` (credits); a contract lifts both.
    if catalog.seat_based:
        seat_plan = catalog.plans.get(catalog.seat_plan or "")
        return None if state.contract is not None or seat_plan is None else seat_plan.max_seats
    return paid_user_limit(state, catalog) if catalog.roles.paid else None


def grant(state: BillingState, catalog: Catalog, at: datetime) -> Grant:
    """What ``state`` grants at ``at`` (see the module docstring for the limits' rule)."""
    code = state.plan or (state.trial.selected_plan if state.trial else None)
    plan = catalog.plans.get(code or "")
    active = state.status not in INACTIVE_STATUSES
    if state.status == "free":
        free = catalog.free_limits()
        members, connectors, spaces = free.max_members, free.max_connectors, free.max_spaces
    elif plan is not None:
        members, connectors, spaces = plan.max_members, plan.connectors, plan.spaces
    else:
        members = connectors = spaces = None
    window = allowance(state, catalog, at)
    return Grant(
        catalog=catalog.name,
        plan=state.plan,
        status=state.status,
        active=active,
        features=tuple(sorted(plan.features)) if active and plan is not None else (),
        limits=Limits(
            members=members,
            paid_seats=_paid_seat_limit(state, catalog),
            connectors=connectors,
            spaces=spaces,
        ),
        credits_included=window.credits if window else None,
        credits_window_start=window.window_start if window else None,
        credits_window_end=window.window_end if window else None,
    )


def same_grant(a: Grant, b: Grant) -> bool:
    """Whether ``a`` and ``b`` grant the same: the credit window moving on at a renewal, with
    the same credits included, is not a change (no ``entitlements.updated``)."""
    moved = {"credits_window_start": None, "credits_window_end": None}
    return a.model_copy(update=moved) == b.model_copy(update=moved)


def subscription_counts(state: BillingState, catalog: Catalog) -> SubscriptionCounts:
    """Active members and paid seats as the engine counts them for its limits."""
    if catalog.seat_based:
        paid = len(seats_held(state))
    else:
        paid = sum(1 for m in state.members.values() if m.status == "active" and m.role in catalog.roles.paid)
    return SubscriptionCounts(members=len(state.active_members()), paid_seats=paid)


class LimitView(_Frozen):
    """One limit as the API shows it (``limit``/``remaining`` None: unlimited)."""

    limit: int | None
    used: int
    remaining: int | None


class CreditsView(_Frozen):
    """Credits of the current window: included (None: no allowance), used, remaining."""

    included: int | None
    used: int
    remaining: int | None
    window_start: UtcDatetime | None = None
    window_end: UtcDatetime | None = None


class Entitlements(_Frozen):
    """A workspace's entitlements as ``GET /v1/workspaces/{id}/entitlements`` shows them.

    ``version`` is the decision that wrote the grant (it only grows); ``updated_at`` its
    instant. Counts are as of the read (connectors, spaces, credits as of the last roll-up)
    or of the last decision (members, paid seats: the subscription is their one writer).
    """

    workspace_id: str
    catalog: str
    plan: str | None
    status: str
    active: bool
    features: tuple[str, ...]
    limits: dict[LimitName, LimitView]
    credits: CreditsView
    version: int
    updated_at: UtcDatetime


def remaining(limit: int | None, used: int) -> int | None:
    """How many more fit under ``limit`` (never negative; None: unlimited)."""
    return None if limit is None else max(limit - used, 0)


def entitlements(
    workspace_id: str,
    granted: Grant,
    used: dict[LimitName, int],
    credits_used: int,
    version: int,
    updated_at: datetime,
) -> Entitlements:
    """The API's view of ``granted`` with the counts ``used`` (one per limit) and credits."""
    limits = {
        name: LimitView(
            limit=granted.limits.of(name),
            used=used[name],
            remaining=remaining(granted.limits.of(name), used[name]),
        )
        for name in LIMIT_NAMES
    }
    included = granted.credits_included
    return Entitlements(
        workspace_id=workspace_id,
        catalog=granted.catalog,
        plan=granted.plan,
        status=granted.status,
        active=granted.active,
        features=granted.features,
        limits=limits,
        credits=CreditsView(
            included=included,
            used=credits_used,
            remaining=remaining(included, credits_used),
            window_start=granted.credits_window_start,
            window_end=granted.credits_window_end,
        ),
        version=version,
        updated_at=updated_at,
    )


class CheckResult(_Frozen):
    """The answer to a check: ``reason`` says why not (None when allowed). A limit check
    also gives the limit, the count it was checked against, and what remains."""

    allowed: bool
    reason: Reason | None = None
    limit: int | None = None
    used: int | None = None
    remaining: int | None = None


def check_feature(active: bool, features: tuple[str, ...] | list[str], feature: str) -> CheckResult:
    """May a workspace with these entitlements use ``feature``?"""
    if not active:
        return CheckResult(allowed=False, reason=SUBSCRIPTION_INACTIVE)
    if feature not in features:
        return CheckResult(allowed=False, reason=FEATURE_NOT_IN_PLAN)
    return CheckResult(allowed=True)


def check_limit(active: bool, limit: int | None, used: int, quantity: int = 1) -> CheckResult:
    """May a workspace holding ``used`` of a thing limited to ``limit`` add ``quantity`` more?

    The engine's own refusals read the same way: adding one more is refused when ``used``
    already reaches the limit (`billing.retention.refuse_beyond_free_limit`, `assign_seat`).
    """
    left = remaining(limit, used)
    if not active:
        return CheckResult(
            allowed=False, reason=SUBSCRIPTION_INACTIVE, limit=limit, used=used, remaining=left
        )
    if limit is not None and used + quantity > limit:
        return CheckResult(allowed=False, reason=LIMIT_REACHED, limit=limit, used=used, remaining=left)
    return CheckResult(allowed=True, limit=limit, used=used, remaining=left)


def credit_days(start: datetime | None, end: datetime | None, at: datetime) -> tuple[date, date]:
    """The UTC days whose rolled-up credits count against the window ``[start, end)``; without
    a window, ``at``'s calendar month (as the overview's usage section counts them)."""
    if start is not None and end is not None:
        return start.date(), (end - timedelta(microseconds=1)).date()
    first = at.date().replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)

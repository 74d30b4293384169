"""The entitlements rule (`billing.entitlements`): tables per status and catalog, and a
Hypothesis property that the check agrees with what the engine itself refuses."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import COMMAND_ADAPTER, Catalog, DomainError, apply
from billing.catalog import parse_catalog
from billing.entitlements import (
    FEATURE_NOT_IN_PLAN,
    LIMIT_REACHED,
    SUBSCRIPTION_INACTIVE,
    LimitName,
    catalog_features,
    check_feature,
    check_limit,
    credit_days,
    entitlements,
    grant,
    subscription_counts,
)
from billing.errors import FREE_LIMIT_EXCEEDED, SEAT_LIMIT_REACHED
from billing.retention import refuse_beyond_free_limit
from billing.state import BillingState, seats_held
from tests.unit.billing_helpers import CREDITS, SEATS, Driver, t

AT = t(2026, 9, 3, 9)
LIMIT_CODES = {FREE_LIMIT_EXCEEDED, SEAT_LIMIT_REACHED}


def _small_seats() -> Catalog:
    """The seats catalog with limits small enough for a random story to reach them."""
    data: dict[str, Any] = tomllib.loads(resources.files("catalogs").joinpath("seats.toml").read_text())
    data["plans"]["free"].update(max_members=3, connectors=2, spaces=2)
    data["plans"]["business"]["max_seats"] = 2
    data["invoice_draft_minutes"] = 0
    return parse_catalog(data, "small seats")


SMALL = _small_seats()


# --- tables ----------------------------------------------------------------------------------


def test_a_free_workspace_has_the_free_plan_limits_and_no_feature() -> None:
    d = Driver(SEATS, AT, {"alice": "admin"})
    granted = grant(d.state, SEATS, AT)
    assert (granted.plan, granted.status, granted.active, granted.features) == ("free", "free", True, ())
    assert granted.limits.model_dump() == {"members": 5, "paid_seats": 100, "connectors": 3, "spaces": 5}
    assert subscription_counts(d.state, SEATS).model_dump() == {"members": 1, "paid_seats": 0}
    # Every member holds the free seat's 100 credits (the seats pool, billing.allowance).
    assert granted.credits_included == 100


def test_business_keeps_its_catalog_limits_and_counts_paid_seats() -> None:
    d = Driver(SEATS, AT, {"alice": "admin", "bob": "member"})
    d.run(AT, "assign_seat", user="alice", type="pro")
    granted = grant(d.state, SEATS, AT)
    assert (granted.plan, granted.status, granted.active) == ("business", "active", True)
    assert granted.limits.model_dump() == {"members": None, "paid_seats": 100, "connectors": 3, "spaces": 5}
    assert subscription_counts(d.state, SEATS).paid_seats == 1
    assert granted.credits_included == 1000 + 100


def test_canceling_stays_active_until_the_revert() -> None:
    d = Driver(SEATS, AT, {"alice": "admin"})
    d.run(AT, "assign_seat", user="alice", type="pro")
    d.run(AT + timedelta(days=2), "cancel")
    assert d.status == "canceling"
    assert grant(d.state, SEATS, AT + timedelta(days=2)).active
    d.tick(AT + timedelta(days=40))
    assert d.status == "free"
    assert grant(d.state, SEATS, AT + timedelta(days=40)).limits.members == 5


def test_an_enterprise_contract_grants_its_features_and_lifts_the_seat_limit() -> None:
    state = Driver(SEATS, AT, {"alice": "admin"}).state
    contract: dict[str, Any] = {
        "plan": "enterprise",
        "price": 100_000,
        "starts_at": AT,
        "ends_at": AT + timedelta(days=365),
    }
    decision = apply(
        state,
        COMMAND_ADAPTER.validate_python({"kind": "set_contract", "request_id": "c1", **contract}),
        AT,
        SEATS,
    )
    granted = grant(decision.state, SEATS, AT)
    assert granted.plan == "enterprise"
    assert granted.features == ("audit_logs", "credit_controls", "scim", "sso")
    assert granted.limits.paid_seats is None
    assert check_feature(granted.active, granted.features, "sso").allowed


def test_a_credits_trial_is_active_until_it_expires_without_a_plan() -> None:
    d = Driver(CREDITS, AT, {"ann": "org_admin"})
    assert d.status == "trialing"
    granted = grant(d.state, CREDITS, AT)
    assert granted.active
    assert granted.plan is None
    assert granted.limits.paid_seats is None
    d.tick(AT + timedelta(days=31))
    assert d.status == "trial_expired"
    expired = grant(d.state, CREDITS, AT + timedelta(days=31))
    assert not expired.active
    assert check_limit(expired.active, None, 0).reason == SUBSCRIPTION_INACTIVE


def test_a_credits_plan_limits_paid_users_and_includes_its_credits() -> None:
    d = Driver(CREDITS, AT, {"ann": "org_admin", "ben": "viewer"})
    d.run(AT, "select_plan", plan="starter")
    d.tick(AT + timedelta(days=31))
    granted = grant(d.state, CREDITS, AT + timedelta(days=31))
    assert (granted.plan, granted.status) == ("starter", "active")
    assert granted.limits.paid_seats == 3
    assert subscription_counts(d.state, CREDITS).model_dump() == {"members": 2, "paid_seats": 1}
    assert granted.credits_included is not None
    assert granted.credits_included > 0


def test_a_deleted_workspace_and_a_canceled_one_are_granted_nothing() -> None:
    d = Driver(SEATS, AT, {"alice": "admin"})
    d.run(AT, "delete_workspace", confirm="acme")
    deleted = grant(d.state, SEATS, AT)
    assert (deleted.status, deleted.active, deleted.features) == ("deleted", False, ())
    credits = Driver(CREDITS, AT, {"ann": "org_admin"})
    credits.run(AT, "select_plan", plan="solo")
    credits.run(AT + timedelta(days=40), "cancel")
    credits.tick(AT + timedelta(days=100))
    assert credits.status == "canceled"
    canceled = grant(credits.state, CREDITS, AT + timedelta(days=100))
    assert not canceled.active
    assert check_feature(canceled.active, canceled.features, "sso").reason == SUBSCRIPTION_INACTIVE


@pytest.mark.parametrize(
    ("active", "limit", "used", "quantity", "allowed", "reason", "remaining"),
    [
        (True, None, 10**6, 5, True, None, None),
        (True, 3, 2, 1, True, None, 1),
        (True, 3, 3, 1, False, LIMIT_REACHED, 0),
        (True, 3, 2, 2, False, LIMIT_REACHED, 1),
        (True, 3, 5, 1, False, LIMIT_REACHED, 0),  # over the limit after a revert
        (False, None, 0, 1, False, SUBSCRIPTION_INACTIVE, None),
    ],
)
def test_check_limit(
    active: bool,
    limit: int | None,
    used: int,
    quantity: int,
    allowed: bool,
    reason: str | None,
    remaining: int | None,
) -> None:
    result = check_limit(active, limit, used, quantity)
    assert (result.allowed, result.reason, result.remaining) == (allowed, reason, remaining)


def test_check_feature() -> None:
    assert check_feature(True, ("sso",), "sso").allowed
    assert check_feature(True, ("sso",), "scim").reason == FEATURE_NOT_IN_PLAN
    assert check_feature(False, ("sso",), "sso").reason == SUBSCRIPTION_INACTIVE
    assert catalog_features(SEATS) == {"sso", "scim", "audit_logs", "credit_controls"}
    assert catalog_features(CREDITS) == frozenset()


def test_the_view_shows_remaining_and_unlimited() -> None:
    granted = grant(Driver(SEATS, AT, {"alice": "admin"}).state, SEATS, AT)
    used: dict[LimitName, int] = {"members": 1, "paid_seats": 0, "connectors": 4, "spaces": 0}
    view = entitlements("acme", granted, used, 30, 7, AT)
    assert view.limits["members"].remaining == 4
    assert view.limits["connectors"].remaining == 0  # never negative
    assert (view.credits.included, view.credits.used, view.credits.remaining) == (100, 30, 70)


def test_credit_days_follow_the_window_else_the_calendar_month() -> None:
    assert credit_days(t(2026, 9, 3), t(2026, 10, 3), AT) == (t(2026, 9, 3).date(), t(2026, 10, 2).date())
    assert credit_days(None, None, t(2026, 2, 14)) == (t(2026, 2, 1).date(), t(2026, 2, 28).date())


# --- the check agrees with the engine ---------------------------------------------------------

USERS = ["ann", "ben", "cat", "dov", "eli", "fay"]
user = st.sampled_from(USERS)
seat_story = st.one_of(
    st.fixed_dictionaries({"kind": st.just("add_member"), "user": user}),
    st.fixed_dictionaries({"kind": st.just("add_member"), "user": user}),
    st.fixed_dictionaries({"kind": st.just("remove_member"), "user": user}),
    st.fixed_dictionaries(
        {"kind": st.just("assign_seat"), "user": user, "type": st.sampled_from(["pro", "max"])}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("assign_seat"), "user": user, "type": st.sampled_from(["pro", "max"])}
    ),
    st.fixed_dictionaries({"kind": st.just("unassign_seat"), "user": user}),
    st.fixed_dictionaries({"kind": st.sampled_from(["cancel", "clear_cancellation", "reactivate"])}),
)
credit_story = st.one_of(
    st.fixed_dictionaries({"kind": st.just("select_plan"), "plan": st.sampled_from(["solo", "starter"])}),
    st.fixed_dictionaries(
        {"kind": st.just("add_member"), "user": user, "role": st.sampled_from(["viewer", "editor"])}
    ),
    st.fixed_dictionaries(
        {"kind": st.just("set_role"), "user": user, "role": st.sampled_from(["viewer", "editor", "admin"])}
    ),
    st.fixed_dictionaries({"kind": st.just("remove_member"), "user": user}),
    st.fixed_dictionaries({"kind": st.sampled_from(["cancel", "reactivate"])}),
)
gaps = st.integers(0, 24 * 20)  # hours


def _refusal(state: BillingState, fields: Mapping[str, object], at: datetime, catalog: Catalog) -> str | None:
    command = COMMAND_ADAPTER.validate_python({**fields, "request_id": "probe"})
    try:
        apply(state, command, at, catalog)
    except DomainError as refused:
        return refused.code
    return None


def _agrees(engine: str | None, active: bool, limit: int | None, used: int, enforced: bool) -> None:
    """The engine refusing for a limit means the check refuses; where the engine enforces the
    limit, the check refusing for it means the engine refuses too."""
    result = check_limit(active, limit, used)
    if engine in LIMIT_CODES:
        assert not result.allowed, (engine, result)
    if enforced and result.reason == LIMIT_REACHED:
        assert engine in LIMIT_CODES, (engine, result)


def _probe(state: BillingState, at: datetime, catalog: Catalog, new_role: str) -> None:
    granted, counts = grant(state, catalog, at), subscription_counts(state, catalog)
    # One more member (a paid role in the credits catalog also takes a paid seat).
    engine = _refusal(state, {"kind": "add_member", "user": "probe", "role": new_role}, at, catalog)
    if engine == FREE_LIMIT_EXCEEDED or (engine is None and state.status == "free"):
        _agrees(engine, granted.active, granted.limits.members, counts.members, enforced=True)
    if new_role in catalog.roles.paid and engine != FREE_LIMIT_EXCEEDED:
        _agrees(engine, granted.active, granted.limits.paid_seats, counts.paid_seats, enforced=True)
    # One more paid seat, for an active member who holds none.
    if catalog.seat_based:
        held = seats_held(state)
        without = [u for u in state.active_members() if u not in held]
        if without and state.status in {"free", "active", "canceling", "past_due"}:
            fields = {"kind": "assign_seat", "user": without[0], "type": "pro"}
            engine = _refusal(state, fields, at, catalog)
            if engine in {None, SEAT_LIMIT_REACHED}:
                _agrees(engine, granted.active, granted.limits.paid_seats, counts.paid_seats, enforced=True)
    # One more connector or space, at every count (the service's rule, `services.entities`).
    for name, limit in (("connectors", granted.limits.connectors), ("spaces", granted.limits.spaces)):
        for current in range(5):
            try:
                refuse_beyond_free_limit(state.status, catalog.free_limits(), name, current)  # type: ignore[arg-type]
                engine = None
            except DomainError as refused:
                engine = refused.code
            _agrees(engine, granted.active, limit, current, enforced=state.status == "free")


def _story(
    catalog: Catalog, team: dict[str, str], sequence: list[tuple[int, Mapping[str, object]]], role: str
) -> None:
    d = Driver(catalog, AT, team)
    at = AT
    _probe(d.state, at, catalog, role)
    for index, (hours, fields) in enumerate(sequence):
        at += timedelta(hours=hours)
        d.tick(at)
        if _refusal(d.state, fields, at, catalog) is None:
            d.state = d._take(
                apply(
                    d.state,
                    COMMAND_ADAPTER.validate_python({**fields, "request_id": f"s{index}"}),
                    at,
                    catalog,
                )
            )
        _probe(d.state, at, catalog, role)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(st.tuples(gaps, seat_story), min_size=5, max_size=25))
def test_the_check_agrees_with_the_engine_on_seats(sequence: list[tuple[int, Mapping[str, object]]]) -> None:
    _story(SMALL, {"ann": "admin"}, sequence, "member")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(st.tuples(gaps, credit_story), min_size=5, max_size=20))
def test_the_check_agrees_with_the_engine_on_credits(
    sequence: list[tuple[int, Mapping[str, object]]],
) -> None:
    _story(CREDITS, {"ann": "org_admin"}, sequence, "editor")

"""The shipped catalogs hold exactly SPEC §1's numbers; bad catalogs name the key path."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

import pytest

from billing.catalog import CatalogError, load_catalog, parse_catalog
from billing.errors import PLAN_NOT_FOUND, DomainError


def shipped(name: str) -> dict[str, object]:
    text = resources.files("catalogs").joinpath(f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)


def test_seats_catalog_numbers() -> None:
    cat = load_catalog("seats")
    assert (cat.currency, cat.invoicing, cat.period, cat.free_plan) == (
        "usd",
        "in_advance",
        "anchored_monthly",
        "free",
    )
    assert cat.plans["free"].max_members == 5
    assert (cat.plans["free"].connectors, cat.plans["free"].spaces) == (3, 5)
    assert cat.plans["business"].max_seats == 100
    assert not cat.plans["enterprise"].self_serve
    assert set(cat.plans["enterprise"].features) == {"sso", "scim", "audit_logs", "credit_controls"}
    pro, mx = cat.seat_types["pro"], cat.seat_types["max"]
    assert (pro.monthly_price, pro.annual_monthly_equivalent, pro.annual_price) == (
        3000,
        2500,
        30000,
    )
    assert (mx.monthly_price, mx.annual_monthly_equivalent, mx.annual_price) == (
        10000,
        8500,
        102000,
    )
    assert [cat.seat_types[t].monthly_credits for t in ("free", "pro", "max")] == [100, 1000, 5000]
    assert cat.dunning.final_failure == "revert_to_free"
    assert cat.retention.data_source_max_bytes == 50_000_000
    assert cat.retention.deletion_delay_days == 7


def test_credits_catalog_numbers() -> None:
    cat = load_catalog("credits")
    assert (cat.invoicing, cat.period, cat.trial_days, cat.free_plan) == (
        "in_arrears",
        "calendar_month",
        30,
        None,
    )
    solo, starter = cat.plans["solo"], cat.plans["starter"]
    assert (solo.price, solo.included_credits, solo.overage_rate, solo.paid_users) == (
        1000,
        7500,
        4,
        1,
    )
    assert (starter.price, starter.included_credits, starter.overage_rate, starter.paid_users) == (
        10000,
        30000,
        3,
        3,
    )
    assert not cat.plans["pro"].self_serve
    assert not cat.plans["partner"].self_serve
    assert cat.serverless_minute_price == 1
    assert cat.plan_change.upgrade == "immediate"
    assert cat.plan_change.downgrade == "period_end"
    assert set(cat.roles.paid) == {"editor", "admin", "org_admin"}
    assert cat.dunning.final_failure == "past_due"
    assert cat.dunning.retry_days == (3, 5, 7)
    rules = cat.credit_rules
    assert (rules.materialization_per_partition, rules.observable_source_execution) == (1, 1)


def test_invalid_catalog_names_the_key_path() -> None:
    data = shipped("seats")
    plans = data["plans"]
    assert isinstance(plans, dict)
    plans["business"]["max_seats"] = "many"
    with pytest.raises(CatalogError) as info:
        parse_catalog(data, "x.toml")
    assert info.value.code == "catalog_invalid"
    assert "plans.business.max_seats: Input should be a valid integer" in info.value.message


def test_unknown_key_is_refused() -> None:
    data = shipped("credits")
    data["dunning"] = {"retry_days": [3], "final_failure": "explode"}
    with pytest.raises(CatalogError, match=r"dunning\.final_failure"):
        parse_catalog(data)


def test_invoice_draft_minutes() -> None:
    assert [load_catalog(name).invoice_draft_minutes for name in ("seats", "credits")] == [60, 60]
    data = shipped("seats")
    del data["invoice_draft_minutes"]
    assert parse_catalog(data).invoice_draft_minutes == 60  # Stripe's draft hour by default
    data["invoice_draft_minutes"] = 0
    assert parse_catalog(data).invoice_draft_minutes == 0
    data["invoice_draft_minutes"] = -1
    with pytest.raises(CatalogError, match="invoice_draft_minutes: Input should be greater than or equal"):
        parse_catalog(data)


def test_cross_field_rules() -> None:
    data = shipped("seats")
    data["free_plan"] = "nope"
    with pytest.raises(CatalogError, match="free_plan 'nope' is not a plan"):
        parse_catalog(data)


def test_load_by_path_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(resources.files("catalogs").joinpath("credits.toml").read_text("utf-8"))
    assert load_catalog(path).name == "credits"
    assert load_catalog(str(path)).name == "credits"
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [")
    with pytest.raises(CatalogError, match="not valid TOML"):
        load_catalog(bad)


def test_unknown_plan_lookup() -> None:
    with pytest.raises(DomainError) as info:
        load_catalog("credits").plan("gold")
    assert info.value.code == PLAN_NOT_FOUND

"""Every example scenario, in business words: what it bills, what happens when, how it ends.

Amounts are worked out here from SPEC §1 and the dates (whole UTC days, half-up rounding),
never read back from the engine.
"""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import Simulate


def _invoices(doc: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(issue date, total, status) of every invoice."""
    return [(i["issued_at"][:10], i["total"], i["status"]) for i in doc["invoices"]]


def _lines(invoice: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """(kind, quantity, unit amount, amount) of every line of an invoice."""
    return [(x["kind"], x["quantity"], x["unit_amount"], x["amount"]) for x in invoice["lines"]]


def _when(doc: dict[str, Any], event: str, **data: Any) -> list[str]:
    """Instants of the timeline's ``event`` rows whose data match ``data``."""
    return [
        e["at"]
        for e in doc["timeline"]
        if e["event"] == event and all(e.get(k) == v for k, v in data.items())
    ]


def _status(doc: dict[str, Any], kind: str) -> dict[str, str]:
    key = "user" if kind == "members" else "id"
    return {item[key]: item["status"] for item in doc["final"][kind]}


async def test_seats_proration_worked_example(run_example: Simulate) -> None:
    doc = await run_example("seats-proration")
    assert _invoices(doc) == [("2026-09-03", 6000, "paid"), ("2026-10-03", 10500, "paid")]
    september, october = doc["invoices"]
    assert _lines(september) == [("seat", 2, 3000, 6000)]
    # 3 seats for October, and the third seat's Sep 18 - Oct 2: 15 of 30 days of 3000.
    assert _lines(october) == [("seat", 3, 3000, 9000), ("seat_proration", 1, 1500, 1500)]
    assert october["period_start"] == "2026-10-03T00:00:00Z"
    assert october["period_end"] == "2026-11-03T00:00:00Z"
    assert _when(doc, "seat_assigned", user="carol") == ["2026-09-18T12:00:00Z"]
    assert _when(doc, "period_renewed") == ["2026-10-03T00:00:00Z"]
    assert len(_when(doc, "invoice_paid")) == 2
    assert doc["final"]["status"] == "active"
    assert doc["final"]["plan"] == "business"
    assert doc["rejected"] == []


async def test_cancellation_reverts_to_free_and_deletes_the_big_data_source_a_week_later(
    run_example: Simulate,
) -> None:
    doc = await run_example("cancel-revert-to-free")
    assert _invoices(doc) == [("2026-09-03", 6000, "paid"), ("2026-10-03", 6000, "paid")]
    assert _when(doc, "cancel_requested") == ["2026-10-10T00:00:00Z"]
    assert _when(doc, "reverted_to_free") == ["2026-11-03T00:00:00Z"]
    # Alice's admin role is the oldest grant: she keeps access, the others are suspended.
    assert sorted(e["user"] for e in doc["timeline"] if e["event"] == "member_suspended") == ["bob", "carol"]
    assert _status(doc, "members") == {"alice": "active", "bob": "suspended", "carol": "suspended"}
    assert _status(doc, "connections") == {"notion": "deleted", "slack": "deleted"}
    assert _status(doc, "agents") == {"support-bot": "deactivated"}
    assert _when(doc, "data_source_deletion_warned", data_source_id="handbook") == ["2026-11-03T00:00:00Z"]
    assert _when(doc, "data_source_deleted", data_source_id="handbook") == ["2026-11-10T00:00:00Z"]
    sources = {d["id"]: d for d in doc["final"]["data_sources"]}
    assert (sources["handbook"]["status"], sources["handbook"]["deleted_at"]) == (
        "deleted",
        "2026-11-10T00:00:00Z",
    )
    assert sources["faq"]["status"] == "active"  # 1 MB: under the 50 MB limit
    assert (doc["final"]["status"], doc["final"]["plan"]) == ("free", "free")


async def test_reactivation_on_day_five_restores_people_and_cancels_the_deletion(
    run_example: Simulate,
) -> None:
    doc = await run_example("cancel-then-reactivate")
    # The cancellation names the day it takes effect: the end of the paid period.
    assert _when(doc, "cancel_requested", cancel_at="2026-11-03T00:00:00Z") == ["2026-10-10T00:00:00Z"]
    # A new period anchored on the reactivation day, invoiced in advance for the restored seats.
    assert _invoices(doc) == [
        ("2026-09-03", 6000, "paid"),
        ("2026-10-03", 6000, "paid"),
        ("2026-11-08", 6000, "paid"),
    ]
    assert _lines(doc["invoices"][2]) == [("seat", 2, 3000, 6000)]
    assert doc["invoices"][2]["period_start"] == "2026-11-08T00:00:00Z"
    assert _when(doc, "reactivated") == ["2026-11-08T10:00:00Z"]
    assert sorted(e["user"] for e in doc["timeline"] if e["event"] == "member_restored") == ["bob", "carol"]
    assert _when(doc, "data_source_deleted") == []
    assert _status(doc, "members") == {"alice": "active", "bob": "active", "carol": "active"}
    assert _status(doc, "agents") == {"support-bot": "active"}
    assert _status(doc, "data_sources") == {"faq": "active", "handbook": "active"}
    assert _status(doc, "connections") == {"notion": "deleted", "slack": "deleted"}  # their data is gone
    assert (doc["final"]["status"], doc["final"]["plan"]) == ("active", "business")


async def test_a_trial_without_a_plan_expires_and_billing_starts_with_the_plan(run_example: Simulate) -> None:
    doc = await run_example("trial-expires")
    assert _when(doc, "trial_started") == ["2026-03-01T09:00:00Z"]
    assert _when(doc, "trial_ended") == ["2026-03-31T09:00:00Z"]  # exactly 30 days
    # Three days before, the billing contact hears that the trial ends, with no plan chosen.
    assert _when(doc, "trial_will_end", ends_at="2026-03-31T09:00:00Z", plan=None) == ["2026-03-28T09:00:00Z"]
    # Solo from Apr 10 to May 1: 21 of April's 30 days of 1000.
    assert _invoices(doc) == [("2026-05-01", 700, "paid")]
    assert _lines(doc["invoices"][0]) == [("plan_proration", 1, 700, 700)]
    assert (doc["final"]["status"], doc["final"]["plan"]) == ("active", "solo")


async def test_a_plan_chosen_mid_trial_starts_at_the_trial_end(run_example: Simulate) -> None:
    doc = await run_example("trial-plan-mid-trial")
    assert _when(doc, "plan_selected") == ["2026-03-15T10:00:00Z"]
    assert _when(doc, "trial_ended") == ["2026-04-04T09:00:00Z"]
    # The notice three days before names the plan billing begins with.
    assert _when(doc, "trial_will_end", plan="starter") == ["2026-04-01T09:00:00Z"]
    # Starter from Apr 4 to May 1: 27/30 of 10000; the trial's 40,000 credits are free.
    assert _invoices(doc) == [("2026-05-01", 9000, "paid")]
    assert _lines(doc["invoices"][0]) == [("plan_proration", 1, 9000, 9000)]
    assert doc["final"]["plan"] == "starter"


async def test_upgrade_is_immediate_and_downgrade_waits_for_the_period_end(run_example: Simulate) -> None:
    doc = await run_example("solo-starter-upgrade-downgrade")
    assert _invoices(doc) == [
        ("2026-02-01", 32, "paid"),  # Solo for Jan 31 only: 1000 / 31 = 32.3
        ("2026-03-01", 1000, "paid"),
        ("2026-04-01", 290 + 7097, "paid"),  # 9/31 of Solo, 22/31 of Starter
        ("2026-05-01", 10000, "paid"),  # April all Starter: the downgrade waited
        ("2026-06-01", 1000, "paid"),
    ]
    assert sorted(_lines(doc["invoices"][2])) == [
        ("plan_proration", 1, 290, 290),
        ("plan_proration", 1, 7097, 7097),
    ]
    assert _when(doc, "downgrade_scheduled") == ["2026-04-15T00:00:00Z"]
    assert _when(doc, "plan_changed", to_plan="starter") == ["2026-03-10T00:00:00Z"]
    assert "2026-05-01T00:00:00Z" in _when(doc, "plan_changed", to_plan="solo")
    assert doc["final"]["plan"] == "solo"


async def test_five_hundred_dynamic_partitions_cost_501_credits(run_example: Simulate) -> None:
    doc = await run_example("credits-500-partitions")
    usage = doc["final"]["usage"]
    first, second = usage["batches"]
    assert (first["events"], first["credits"]) == (3, 501)  # 1 + 0 + 500
    assert (second["events"], second["credits"], second["serverless_minutes"]) == (6, 500, 90)
    assert (usage["credits"], usage["serverless_minutes"]) == (1001, 90)
    # May on Solo: 1000; 1001 credits are within the 7500 included; 90 minutes at 1.
    assert _invoices(doc) == [("2026-06-01", 1090, "paid")]
    assert _lines(doc["invoices"][0]) == [("plan", 1, 1000, 1000), ("serverless_minutes", 90, 1, 90)]


async def test_pro_contract_projects_an_overage(run_example: Simulate) -> None:
    doc = await run_example("pro-contract-overage")
    assert _invoices(doc) == [("2026-02-01", 1200000, "paid")]
    assert _lines(doc["invoices"][0]) == [("contract", 1, 1200000, 1200000)]
    projection = doc["final"]["usage"]["contract_projection"]
    # 80,000 credits after 120 of 365 days: 243,333 projected against 130,000 in contract.
    assert projection["used"] == 80000
    assert projection["contracted"] == 130000
    assert projection["direction"] == "overage"
    assert projection["projected"] == 80000 * 365 // 120
    assert projection["projected_amount"] == 80000 * 365 // 120 - 130000
    assert "projected overage" in projection["warning"]
    assert (doc["final"]["status"], doc["final"]["plan"]) == ("active", "pro")


async def test_a_declined_card_goes_through_dunning_to_the_final_rule(run_example: Simulate) -> None:
    doc = await run_example("dunning-failed-card")
    assert _invoices(doc) == [("2026-09-03", 3000, "overdue")]  # still owed after the revert
    # Attempts at posting, then 3, 5 and 7 days after issue (Sep 3 09:00).
    assert _when(doc, "payment_failed") == [
        "2026-09-03T10:00:00Z",
        "2026-09-06T09:00:00Z",
        "2026-09-08T09:00:00Z",
        "2026-09-10T09:00:00Z",
    ]
    assert _when(doc, "invoice_overdue") == ["2026-09-10T09:00:00Z"]
    assert _when(doc, "reverted_to_free") == ["2026-09-10T09:00:00Z"]
    assert _status(doc, "members") == {"alice": "active", "bob": "suspended"}
    assert (doc["final"]["status"], doc["final"]["plan"]) == ("free", "free")
    assert any("overdue" in w for w in doc["final"]["overview"]["warnings"])


async def test_monthly_and_annual_seats_over_a_year(run_example: Simulate) -> None:
    doc = await run_example("monthly-and-annual-seats-year")
    totals = [t for _, t, _ in _invoices(doc)]
    # Jan 5: pro monthly 3000 + pro annual 30000 + max monthly 10000.
    assert totals[0] == 43000
    # Apr 5: the monthly seats, plus Dave's annual max from Mar 20 to the term's end on
    # Jan 5 2027: 291 of 365 days of 102000 = 81320.5, half-up.
    assert totals[3] == 13000 + 81321
    assert ("seat_proration", 1, 81321, 81321) in _lines(doc["invoices"][3])
    # Carol's downgrade to pro waits for Jun 5; from then on two monthly pro seats.
    assert totals[1:3] + totals[4:5] == [13000, 13000, 13000]
    assert totals[5:12] == [6000] * 7
    # Jan 5 2027: the annual terms renew (Dave's max, Erin's pro from the stock) + 2 monthly.
    assert totals[12] == 102000 + 30000 + 6000
    assert len(totals) == 13
    assert {s for _, _, s in _invoices(doc)} == {"paid"}
    assert _when(doc, "seat_stock_released") == ["2026-08-05T00:00:00Z"]
    assert doc["rejected"] == [
        {
            "at": "2026-09-01T00:00:00Z",
            "step": "change_plan",
            "line": 36,
            "error": "plan_not_found",
            "message": "no plan 'platinum'",
        }
    ]
    seats = {m["user"]: (m["seat_type"], m["seat_cycle"]) for m in doc["final"]["members"]}
    assert seats == {
        "alice": ("pro", "monthly"),
        "bob": (None, None),
        "carol": ("pro", "monthly"),
        "dave": ("max", "annual"),
        "erin": ("pro", "annual"),
    }

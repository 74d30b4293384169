"""Usage events, credit rules and usage totals (SPEC §1.2, §1.4, §4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.catalog import load_catalog
from billing.errors import INVALID_ARGUMENT, UNKNOWN_EVENT_KIND, DomainError
from billing.usage import (
    AssetMaterialization,
    CreditRules,
    UsageEvent,
    UsageTotals,
    credit_cost,
    parse_event,
    totals,
)
from services.usage_batch import ParsedBatch, parse

T0 = datetime(2026, 3, 1, tzinfo=UTC)
RULES = CreditRules()


def _parsed(raw: list[dict[str, object]]) -> list[UsageEvent]:
    return [parse_event(r) for r in raw]


def _batch(raw: list[dict[str, object]]) -> ParsedBatch:
    """The one batch parser (the API's and `tenure simulate`'s), on ``raw`` as a JSON body."""
    return parse(json.dumps({"events": raw}).encode(), RULES, "ws")


def _raw(i: int, kind: str, **fields: object) -> dict[str, object]:
    return {"id": f"e{i}", "kind": kind, "at": "2026-03-02T10:00:00Z", **fields}


# The discovery run of seed 001: 1 (observable source) + 0 (500 partitions added)
# + 500 (downstream asset over them) = 501; each further downstream asset adds 500.
DISCOVERY_RUN = [
    _raw(1, "observable_source_execution"),
    _raw(2, "dynamic_partitions_added", count=500),
    _raw(3, "asset_materialization", partitions=500),
]
FURTHER_ASSET = [_raw(4, "asset_materialization", partitions=500)]
FURTHER_ASSET_2 = [_raw(5, "asset_materialization", partitions=500)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(DISCOVERY_RUN, 501, id="discovery-run-501"),
        pytest.param(DISCOVERY_RUN + FURTHER_ASSET, 1001, id="one-more-asset-plus-500"),
        pytest.param(DISCOVERY_RUN + FURTHER_ASSET + FURTHER_ASSET_2, 1501, id="two-more"),
        pytest.param([_raw(1, "asset_materialization")], 1, id="default-one-partition"),
        pytest.param(
            [_raw(1, "asset_materialization", partitions=40, step_execution=False)],
            0,
            id="sensor-reported-is-free",
        ),
        pytest.param([_raw(1, "dynamic_partitions_added", count=10_000)], 0, id="partitions"),
        pytest.param([_raw(1, "asset_observation")], 0, id="observation"),
        pytest.param([_raw(1, "asset_check")], 0, id="check"),
        pytest.param([_raw(1, "sensor_evaluation")], 0, id="sensor-evaluation"),
        pytest.param([_raw(1, "serverless_minutes", minutes=90)], 0, id="minutes-no-credits"),
    ],
)
def test_credit_rules_table(raw: list[dict[str, object]], expected: int) -> None:
    events = _parsed(raw)
    assert sum(credit_cost(e, RULES) for e in events) == expected


def test_rules_come_from_the_catalog() -> None:
    rules = CreditRules(materialization_per_partition=2, sensor_evaluation=1)
    events = _parsed(
        [_raw(1, "asset_materialization", partitions=3), _raw(2, "sensor_evaluation")]
    )
    assert [credit_cost(e, rules) for e in events] == [6, 1]


def test_credit_rules_reject_unknown_keys_and_negatives() -> None:
    with pytest.raises(ValidationError):
        CreditRules.model_validate({"materialisation_per_partition": 1})
    with pytest.raises(ValidationError):
        CreditRules(asset_check=-1)


def test_totals_window_is_half_open_and_trial_usage_is_free() -> None:
    trial_end = datetime(2026, 3, 31, 9, 30, tzinfo=UTC)
    period_end = datetime(2026, 4, 1, tzinfo=UTC)
    events = _parsed(
        [
            {
                "id": "trial",
                "kind": "asset_materialization",
                "partitions": 7,
                "at": "2026-03-31T09:29:59Z",
            },
            {
                "id": "paid",
                "kind": "asset_materialization",
                "partitions": 5,
                "at": "2026-03-31T09:30:00Z",
            },
            {
                "id": "mins",
                "kind": "serverless_minutes",
                "minutes": 12,
                "at": "2026-03-31T23:59:59Z",
            },
            {"id": "next", "kind": "asset_materialization", "at": "2026-04-01T00:00:00Z"},
        ]
    )
    # The caller passes the paid window only: the trial's 7 credits are free.
    assert totals(events, RULES, trial_end, period_end) == UsageTotals(
        credits=5, serverless_minutes=12
    )
    assert totals(events, RULES, T0, period_end) == UsageTotals(credits=12, serverless_minutes=12)
    assert totals(events, RULES, period_end, period_end) == UsageTotals()


def test_totals_rejects_inverted_window() -> None:
    with pytest.raises(DomainError) as err:
        totals([], RULES, T0, T0 - timedelta(seconds=1))
    assert err.value.code == INVALID_ARGUMENT


def test_event_time_normalised_to_utc_and_naive_rejected() -> None:
    event = parse_event({"id": "a", "kind": "asset_check", "at": "2026-03-02T12:00:00+02:00"})
    assert event.at == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert event.at.tzinfo is UTC
    with pytest.raises(ValidationError):
        parse_event({"id": "a", "kind": "asset_check", "at": "2026-03-02T12:00:00"})
    aware = datetime(2026, 3, 2, 12, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_event({"id": "b", "kind": "asset_check", "at": aware}).at.hour == 17


def test_defaults_of_materialization() -> None:
    event = parse_event({"id": "m", "kind": "asset_materialization", "at": T0})
    assert isinstance(event, AssetMaterialization)
    assert (event.partitions, event.step_execution) == (1, True)


@pytest.mark.parametrize(
    ("raw", "code", "index"),
    [
        pytest.param(
            [_raw(0, "asset_check"), _raw(1, "spark_job")], UNKNOWN_EVENT_KIND, 1, id="unknown-kind"
        ),
        pytest.param(
            [{"id": "x", "at": "2026-03-02T10:00:00Z"}], UNKNOWN_EVENT_KIND, 0, id="missing-kind"
        ),
        pytest.param(
            [_raw(0, "asset_materialization", partitions=0)],
            INVALID_ARGUMENT,
            0,
            id="zero-partitions",
        ),
        pytest.param(
            [_raw(0, "asset_check"), _raw(1, "dynamic_partitions_added", count=-1)],
            INVALID_ARGUMENT,
            1,
            id="negative-count",
        ),
        pytest.param(
            [_raw(0, "dynamic_partitions_added")], INVALID_ARGUMENT, 0, id="count-required"
        ),
        pytest.param(
            [_raw(0, "serverless_minutes", minutes=-3)], INVALID_ARGUMENT, 0, id="negative-minutes"
        ),
        pytest.param(
            [{"id": "", "kind": "asset_check", "at": "2026-03-02T10:00:00Z"}],
            INVALID_ARGUMENT,
            0,
            id="empty-id",
        ),
        pytest.param(
            [{"id": " a", "kind": "asset_check", "at": "2026-03-02T10:00:00Z"}],
            INVALID_ARGUMENT,
            0,
            id="padded-id",
        ),
        pytest.param(
            [{"id": "a", "kind": "asset_check", "at": "2026-03-02T10:00:00"}],
            INVALID_ARGUMENT,
            0,
            id="naive-time",
        ),
        pytest.param(
            [_raw(0, "asset_check", colour="red")], INVALID_ARGUMENT, 0, id="unknown-field"
        ),
    ],
)
def test_a_batch_is_refused_naming_the_first_bad_index(
    raw: list[dict[str, object]], code: str, index: int
) -> None:
    with pytest.raises(DomainError) as err:
        _batch(raw)
    assert err.value.code == code
    assert err.value.details["index"] == index


def test_parse_error_details() -> None:
    with pytest.raises(DomainError) as err:
        _batch([_raw(0, "asset_materialization", partitions="many")])
    errors = err.value.details["errors"]
    assert isinstance(errors, list)
    assert errors[0]["field"] == "partitions"


def test_an_id_repeated_in_a_batch_keeps_its_first_occurrence() -> None:
    batch = _batch([_raw(0, "asset_check"), _raw(1, "asset_check"), _raw(0, "sensor_evaluation")])
    assert [(r.event_id, r.kind) for r in batch.rows] == [("e0", "asset_check"), ("e1", "asset_check")]
    assert batch.received == {"ws": 3}


def test_events_round_trip_through_json() -> None:
    events = _parsed(DISCOVERY_RUN)
    dumped = [e.model_dump(mode="json") for e in events]
    assert _parsed(dumped) == events


_kinds = st.sampled_from(
    [
        "asset_materialization",
        "observable_source_execution",
        "dynamic_partitions_added",
        "asset_observation",
        "asset_check",
        "sensor_evaluation",
        "serverless_minutes",
    ]
)


@st.composite
def _events(draw: st.DrawFn) -> list[UsageEvent]:
    n = draw(st.integers(0, 30))
    raw: list[dict[str, object]] = []
    for i in range(n):
        kind = draw(_kinds)
        item: dict[str, object] = {
            "id": f"e{i}",
            "kind": kind,
            "at": T0 + timedelta(minutes=draw(st.integers(0, 60 * 24 * 40))),
        }
        if kind == "asset_materialization":
            item["partitions"] = draw(st.integers(1, 1000))
            item["step_execution"] = draw(st.booleans())
        elif kind == "dynamic_partitions_added":
            item["count"] = draw(st.integers(0, 1000))
        elif kind == "serverless_minutes":
            item["minutes"] = draw(st.integers(0, 1000))
        raw.append(item)
    return _parsed(raw)


@given(_events(), st.integers(0, 30), st.integers(0, 60 * 24 * 40))
def test_totals_additive_over_batch_and_window_splits(
    events: list[UsageEvent], cut: int, split_minutes: int
) -> None:
    start, end = T0, T0 + timedelta(days=40)
    whole = totals(events, RULES, start, end)
    assert whole == totals(events[:cut], RULES, start, end) + totals(
        events[cut:], RULES, start, end
    )
    mid = start + timedelta(minutes=split_minutes)
    assert whole == totals(events, RULES, start, mid) + totals(events, RULES, mid, end)


@pytest.mark.parametrize("catalog", ["credits", "seats"])
def test_shipped_catalog_rules_price_the_worked_example(catalog: str) -> None:
    rules = load_catalog(catalog).credit_rules
    assert rules == CreditRules()
    events = _parsed(DISCOVERY_RUN + FURTHER_ASSET)
    assert totals(events, rules, T0, T0 + timedelta(days=31)).credits == 1001

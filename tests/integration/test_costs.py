"""`bench.costs` counts what it claims (issue 17 goal 5): one subscription, two months, every
figure derived by hand; and the history counter's rules on hand-built events."""

from __future__ import annotations

from typing import Any

from temporalio.api.common.v1 import MeteringMetadata, Payload, SearchAttributes
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)

from bench.cost_counts import LOCAL_ACTIVITY_MARKER, count_run, request_kind
from bench.costs import action_price_usd, measure_case, seats_monthly
from simulate.stack import Stack, private_stack

E = EventType
INVOICES = 2  # the checkout invoice (Jan 5) and the renewal of Feb 5; the run ends Mar 4 23:00
# A test card (`devstack.test_cards`): POST /v1/customers, POST and GET /v1/customers/{id},
# POST /v1/setup_intents, its confirm, GET of the SetupIntent and of its payment method.
CARD_REQUESTS = 7
# Per invoice: the invoice created as a draft, its one seat line, the draft paid (finalized by
# Stripe as it pays: docs/benchmarks.md, session 8).
INVOICE_REQUESTS = {"POST /v1/invoices": 1, "POST /v1/invoiceitems": 1, "POST /v1/invoices/{id}/pay": 1}


async def _one_subscription_two_months() -> dict[str, Any]:
    async with private_stack() as own:
        shared = Stack(env=own.env, engine=own.engine, stripe_url=own.stripe_url, private=False)
        return await measure_case(shared, "one-seat", seats_monthly(2, seats=1))


async def test_one_seat_for_two_months_costs_what_we_count_by_hand() -> None:
    case = await _one_subscription_two_months()
    assert case["invoices"] == INVOICES
    assert case["invoice_statuses"] == {"paid": INVOICES}

    # Stripe: the card once, then three requests per invoice, nothing else.
    by_kind = case["stripe_by_kind"]
    for kind, per_invoice in INVOICE_REQUESTS.items():
        assert by_kind[kind] == per_invoice * INVOICES, by_kind
    assert case["stripe_requests"] == CARD_REQUESTS + 3 * INVOICES, by_kind
    assert case["stripe_invoice_requests"] == 3 * INVOICES
    assert sum(by_kind.values()) == case["stripe_requests"]

    history = case["history"]
    # The subscription's workflow and one invoice workflow per invoice.
    assert history["workflows"] == 1 + INVOICES
    # The subscription continues as new at checkout and at each renewal; an invoice is one run.
    assert history["continue_as_new"] == INVOICES
    assert history["runs"] == (1 + INVOICES) + INVOICES
    # One Update (the seat), recorded by one activity once accepted (patch
    # record-after-acceptance); each invoice collected by one activity, reported by one signal.
    assert history["updates"] == 1
    assert history["activities"] == 1 + INVOICES
    assert history["signals"] == INVOICES == history["signals_sent"]
    assert history["activity_retries"] == 0 == history["workflow_task_failures"]
    assert history["by_type"]["WORKFLOW_EXECUTION_STARTED"] == history["runs"]
    assert history["by_type"]["WORKFLOW_TASK_COMPLETED"] == history["workflow_tasks"]
    assert history["events"] == sum(history["by_type"].values())
    assert "WORKFLOW_EXECUTION_TERMINATED" not in history["by_type"]
    assert 0 < history["max_run_events"] < history["events"]
    assert case["subscription_history"]["workflows"] == 1

    # PostgreSQL: the rows each invoice adds, read from the statistics after the pool closed.
    tables = case["database"]["tables"]
    assert tables["invoices"]["inserted"] == INVOICES
    assert tables["invoice_lines"]["inserted"] == INVOICES
    assert case["database"]["inserted"] == sum(t["inserted"] for t in tables.values())
    assert case["database"]["wal_bytes"] > 0


def _event(kind: int, **attributes: Any) -> HistoryEvent:
    return HistoryEvent(event_type=kind, **attributes)  # type: ignore[arg-type]


def _marker(name: str) -> HistoryEvent:
    return _event(
        E.EVENT_TYPE_MARKER_RECORDED,
        marker_recorded_event_attributes=MarkerRecordedEventAttributes(marker_name=name),
    )


def _upsert(*names: str) -> HistoryEvent:
    fields = {n: Payload(data=b"1") for n in names}
    return _event(
        E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
        upsert_workflow_search_attributes_event_attributes=UpsertWorkflowSearchAttributesEventAttributes(
            search_attributes=SearchAttributes(indexed_fields=fields)
        ),
    )


def test_actions_follow_temporals_published_rules() -> None:
    completed = _event(E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
    retried_locally = _event(  # its local activity needed two attempts more
        E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
        workflow_task_completed_event_attributes=WorkflowTaskCompletedEventAttributes(
            metering_metadata=MeteringMetadata(nonfirst_local_activity_execution_attempts=2)
        ),
    )
    events = [
        _event(E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        completed,
        # Two local activities in one workflow task: one action; a patch marker: none.
        _marker(LOCAL_ACTIVITY_MARKER),
        _marker(LOCAL_ACTIVITY_MARKER),
        _marker("core_patch"),
        _upsert("TemporalChangeVersion"),  # versioning only: not billed
        _upsert("TenureStatus", "TemporalChangeVersion"),  # billed once
        _event(E.EVENT_TYPE_TIMER_STARTED),
        _event(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(
            E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(attempt=3),
        ),
        retried_locally,
        _marker(LOCAL_ACTIVITY_MARKER),  # a second task with a local activity
        _event(E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED),
        _event(E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),
        _event(E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED),  # written by the bench: not counted
    ]
    counts = count_run(events)
    assert counts.events == len(events) - 1
    assert counts.workflow_tasks == 2
    assert (counts.local_activities, counts.local_activity_tasks, counts.local_activity_retries) == (3, 2, 2)
    assert counts.search_attribute_upserts == 1
    assert (counts.activities, counts.activity_retries) == (1, 2)
    # start 1 + activity 1 + its retries 2 + LA tasks 2 + LA retries 2 + timer 1 + signal 1
    # + update 1 + upsert 1
    assert counts.actions == 12


def test_request_kinds_hide_ids_not_resources() -> None:
    assert request_kind("POST", "/v1/invoices/in_1Nf3kR2pQxY7aBc/pay") == "POST /v1/invoices/{id}/pay"
    assert request_kind("POST", "/v1/setup_intents") == "POST /v1/setup_intents"
    assert request_kind("GET", "/v1/setup_intents/seti_Nf3kR2pQxY7aBcde") == "GET /v1/setup_intents/{id}"


def test_action_prices_follow_the_published_tiers() -> None:
    # Temporal's own example (docs.temporal.io/cloud/pricing): 11.25 M actions = $525.
    assert action_price_usd(11.25e6) == 525.0
    assert action_price_usd(200e6) == 250 + 225 + 400 + 1050 + 1500 + 2500
    assert action_price_usd(300e6) == action_price_usd(200e6) + 100 * 25.0

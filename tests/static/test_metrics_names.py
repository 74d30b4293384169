"""The dashboard and the alerts load, and every metric they name exists: in Tenure's registry
(`observability.metrics`) or among the Temporal SDK's documented metrics.

A renamed metric would otherwise leave a panel empty and an alert silent, and nobody notices
until the night it should have fired.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from observability import metrics
from observability.metrics import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
# Core SDK worker and client metrics (https://docs.temporal.io/references/sdk-metrics), as the
# Python SDK exports them through PrometheusConfig: `temporal_` prefix, counters without `_total`.
SDK_COUNTERS = {
    "activity_execution_cancelled",
    "activity_execution_failed",
    "activity_poll_no_task",
    "activity_task_received",
    "long_request",
    "long_request_failure",
    "request",
    "request_failure",
    "sticky_cache_hit",
    "sticky_cache_miss",
    "worker_start",
    "workflow_cancelled",
    "workflow_completed",
    "workflow_continue_as_new",
    "workflow_failed",
    "workflow_task_execution_failed",
    "workflow_task_queue_poll_empty",
    "workflow_task_queue_poll_succeed",
}
SDK_HISTOGRAMS = {
    "activity_execution_latency",
    "activity_schedule_to_start_latency",
    "activity_succeed_endtoend_latency",
    "long_request_latency",
    "request_latency",
    "workflow_endtoend_latency",
    "workflow_task_execution_latency",
    "workflow_task_replay_latency",
    "workflow_task_schedule_to_start_latency",
}
SDK_GAUGES = {"num_pollers", "sticky_cache_size", "worker_task_slots_available", "worker_task_slots_used"}
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")
# Metric-looking words of PromQL that are ours or the SDK's; `up` is Prometheus' own.
NAME = re.compile(r"\b(?:tenure|temporal)_[a-z0-9_]+\b")


def _known() -> set[str]:
    names: set[str] = set()
    for family in REGISTRY.collect():
        if family.type == "counter":
            names.add(f"{family.name}_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in HISTOGRAM_SERIES)
        else:
            names.add(family.name)
    names.update(f"temporal_{name}" for name in SDK_COUNTERS | SDK_GAUGES)
    names.update(f"temporal_{name}{suffix}" for name in SDK_HISTOGRAMS for suffix in HISTOGRAM_SERIES)
    return names


def _alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def _panel_exprs() -> list[str]:
    dashboard = json.loads((ROOT / "deploy/grafana/tenure.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _unknown(exprs: list[str]) -> set[str]:
    known = _known()
    return {name for expr in exprs for name in NAME.findall(expr) if name not in known}


def test_every_alert_names_existing_metrics_and_has_a_runbook() -> None:
    rules = _alert_rules()
    assert len(rules) >= 6
    assert not _unknown([rule["expr"] for rule in rules])
    docs = (ROOT / "docs/operations.md").read_text()
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        assert f"### {rule['alert']}" in docs, f"{rule['alert']} has no section in docs/operations.md"
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"


def test_every_dashboard_panel_names_existing_metrics() -> None:
    exprs = _panel_exprs()
    assert exprs
    assert not _unknown(exprs)
    # The on-call essentials are on the dashboard.
    joined = "\n".join(exprs)
    for name in (
        "tenure_commands_total",
        "tenure_command_duration_seconds_bucket",
        "tenure_payment_attempts_total",
        "tenure_stripe_event_lag_seconds_bucket",
        "tenure_stripe_queue_backlog",
        "temporal_workflow_task_execution_failed",
    ):
        assert name in joined, name


def test_the_check_catches_an_unknown_name() -> None:
    assert _unknown(["rate(tenure_commands_total[5m])"]) == set()
    assert _unknown(["rate(tenure_comands_total[5m])", "temporal_workflow_completed_total"]) == {
        "tenure_comands_total",
        "temporal_workflow_completed_total",
    }


def test_every_tenure_metric_is_documented_and_bounded() -> None:
    docs = (ROOT / "docs/operations.md").read_text()
    for family in REGISTRY.collect():
        assert family.name.startswith("tenure_"), family.name
        assert f"`{family.name}" in docs, f"{family.name} is not in docs/operations.md"
    for value in vars(metrics).values():
        # A workspace, invoice or member label would grow a series per customer.
        labels = set(getattr(value, "_labelnames", ()) if isinstance(value, MetricWrapperBase) else ())
        assert not labels & {"workspace_id", "workspace", "invoice", "member", "user"}, labels

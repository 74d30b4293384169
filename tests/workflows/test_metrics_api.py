"""`/metrics` of the API over real HTTP: Prometheus text, unauthenticated, and the command
counter, its latency histogram and the request counter move after commands."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.workflows.driver import Driver
from tests.workflows.http import as_user as _as
from tests.workflows.http import created as _created


async def _scrape(api: httpx.AsyncClient) -> dict[str, float]:
    """Every sample of the API's `/metrics` as ``name{label=value,...}`` → value (no token sent)."""
    answer = await api.get("/metrics", headers={"Authorization": ""})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


async def test_commands_move_the_counters_on_metrics(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = await _created(api, driver)
    before = await _scrape(api)
    seat = {"user": "alice", "type": "pro"}
    assigned = await api.post(f"/v1/workspaces/{ws}/seats", json=seat, headers=_as("alice"))
    assert assigned.status_code == 200, assigned.text
    refused = await api.post(f"/v1/workspaces/{ws}/reactivate", headers=_as("alice"))
    assert refused.status_code == 409, refused.text
    after = await _scrape(api)

    def moved(key: str) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert moved("tenure_commands_total{code=,kind=assign_seat,outcome=accepted}") == 1
    assert moved("tenure_commands_total{code=not_allowed_in_status,kind=reactivate,outcome=refused}") == 1
    assert moved("tenure_command_duration_seconds_count{kind=assign_seat,outcome=accepted}") == 1
    assert after["tenure_command_duration_seconds_sum{kind=assign_seat,outcome=accepted}"] > 0
    # Requests count by route template: no workspace id in any label.
    route = "/v1/workspaces/{workspace_id}/seats"
    assert moved(f"tenure_http_requests_total{{method=POST,route={route},status=200}}") == 1
    assert not [key for key in after if ws in key]

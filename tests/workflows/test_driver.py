"""The test driver cleans up after itself: a workflow left running on a finished module's task
queue would hold the time-skipping server's clock for every later test (seen as 120 s
timeouts far from their cause)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from tests.workflows.driver import Driver
from tests.workflows.http import created
from workflows.messages import workflow_id


async def test_every_workspace_a_test_made_is_cleaned_up(api: httpx.AsyncClient, driver: Driver) -> None:
    first = await created(api, driver)
    second = await created(api, driver)  # the driver now drives this one
    seat = {"user": "bob", "type": "pro"}
    answer = await api.post(f"/v1/workspaces/{second}/seats", json=seat, headers={"X-Acting-User": "alice"})
    assert answer.status_code == 200, answer.text
    await driver.advance_to(await driver.now() + timedelta(hours=2))  # past the draft window
    await driver.wait_for(lambda s: bool(s.invoices), "the checkout invoice posted")
    handles = {h.id for h in await driver.workflow_handles()}
    assert {workflow_id(first), workflow_id(second)} <= handles
    assert any(h.startswith("invoice-") and second in h for h in handles), handles

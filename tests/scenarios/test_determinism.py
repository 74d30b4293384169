"""The same scenario twice gives the same JSON, byte for byte (ids normalised)."""

from __future__ import annotations

import json

from tests.scenarios.conftest import Simulate


async def test_same_scenario_twice_same_json(run_example: Simulate) -> None:
    first = await run_example("cancel-then-reactivate")
    second = await run_example("cancel-then-reactivate")
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    # The run used suffixed workspace ids; the report speaks of the scenario's own.
    assert {i["number"] for i in first["invoices"]} == {"acme-00001", "acme-00002", "acme-00003"}
    assert "acme-" not in json.dumps(first).replace("acme-0000", "")

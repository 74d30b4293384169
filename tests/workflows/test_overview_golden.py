"""The API's overview JSON of a trialing, an active, a canceling and a reverted workspace,
against golden files (tests/workflows/golden/). What varies between runs is normalised: the
workspace id, Stripe's ids and links, the sub-minute jitter of the simulated clock, the
calendar month a workspace without a period counts its usage in (the real month), and the
time of the last roll-up (global, real time).

After a deliberate change: ``TENURE_UPDATE_GOLDEN=1 uv run pytest tests/workflows/test_overview_golden.py``
rewrites the files that changed and fails (a rewrite never passes): review the diff like code,
then run again without the variable. Each test also checks its key figures by hand.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from billing import AssignSeat, Cancel
from tests.workflows.driver import Driver, request_id
from tests.workflows.test_credits_lifecycle import _setup as _credits_setup
from tests.workflows.test_credits_lifecycle import _t
from tests.workflows.test_revert import _setup as _seats_setup

GOLDEN = Path(__file__).parent / "golden"
_INSTANT = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}):\d{2}(\.\d+)?(Z|\+00:00)")
_STRIPE = re.compile(r"\b(in|cus|pm|seti|txi|ch|pi)_[A-Za-z0-9]+\b")
_URL = re.compile(r"https?://127\.0\.0\.1:\d+")


def _normalised(page: dict[str, Any], ws: str) -> Any:
    usage = page["usage"]
    if usage["window"] == "calendar month":  # the real month: varies with the day the test runs
        usage["first_day"] = usage["last_day"] = "<this month>"
    # The roll-up is global: whether (and when) one ran depends on the tests before this one.
    usage["as_of"] = "<last roll-up, if any>"
    if page["usage_cards"] is not None:
        page["usage_cards"]["as_of"] = "<last roll-up, if any>"
    text = json.dumps(page, indent=2, sort_keys=True)
    text = text.replace(ws, "acme")
    text = _INSTANT.sub(r"\1Z", text)  # the simulated clock is exact to the second at best
    text = _STRIPE.sub(r"\1_…", text)
    return json.loads(_URL.sub("http://stripe.test", text))


async def _matches(api: httpx.AsyncClient, ws: str, name: str) -> dict[str, Any]:
    answer = await api.get(f"/v1/workspaces/{ws}/overview")
    assert answer.status_code == 200, answer.text
    found = _normalised(answer.json(), ws)
    path = GOLDEN / f"overview-{name}.json"
    expected: dict[str, Any] | None = json.loads(path.read_text()) if path.exists() else None
    if os.environ.get("TENURE_UPDATE_GOLDEN") and found != expected:
        # Rewriting never passes: the new file must be reviewed, then the test run again.
        path.write_text(json.dumps(found, indent=2, sort_keys=True) + "\n")
        pytest.fail(f"rewrote {path.name}: review its diff, then run again without TENURE_UPDATE_GOLDEN")
    assert expected is not None, f"no golden file {path.name}: run with TENURE_UPDATE_GOLDEN=1"
    assert found == expected, f"{name}: the overview changed (see the module docstring)"
    return expected


async def test_a_trialing_workspace(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = f"gold-{uuid.uuid4().hex[:8]}"
    await driver.start(_credits_setup(ws), "credits", _t("2026-03-10T09:00:00"))
    await driver.advance_to(_t("2026-03-20T12:00:00"))
    page = (await _matches(api, ws, "trialing"))["subscription"]
    # By hand: alice (org_admin) is the one paid role; no plan yet, so no paid-user limit.
    assert (page["status"], page["paid_seat_count"], page["seat_limit"]) == ("trialing", 1, None)
    assert page["trial"]["message"] == "No plan selected: billing will not start until a plan is chosen."


async def test_active_then_canceling_then_reverted(api: httpx.AsyncClient, driver: Driver) -> None:
    ws = f"gold-{uuid.uuid4().hex[:8]}"
    await driver.start(_seats_setup(ws), "seats", _t("2026-09-03T09:00:00"))
    for user in ("alice", "bob"):
        seat = AssignSeat(request_id=request_id(), actor="alice", user=user, seat_type="pro")
        await driver.update(seat)
    await driver.advance_to(_t("2026-09-03T12:00:00"))
    await driver.pay_all()
    await driver.advance_to(_t("2026-10-03T12:00:00"))
    await driver.pay_all()
    page = (await _matches(api, ws, "active"))["subscription"]
    assert (page["status"], page["paid_seat_count"], page["seat_limit"]) == ("active", 2, 100)

    await driver.advance_to(_t("2026-10-10T00:00:00"))
    await driver.update(Cancel(request_id=request_id(), actor="bob", reason="too expensive"))
    page = (await _matches(api, ws, "canceling"))["subscription"]
    assert (page["status"], page["cancel_at"]) == ("canceling", "2026-11-03T00:00Z")

    await driver.advance_to(_t("2026-11-04T00:00:00"))
    await driver.wait_for(lambda s: s.status == "free", "the revert")
    await _matches(api, ws, "reverted")

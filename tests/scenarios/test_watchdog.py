"""The simulator's watchdog names the phase that stalled (the CLI turns it into exit 3)."""

from __future__ import annotations

import asyncio

import pytest

from simulate.watchdog import SimulationStalled, guarded


async def test_a_phase_that_never_ends_is_reported_with_its_place() -> None:
    never = asyncio.Event()
    with pytest.raises(SimulationStalled, match=r"stalled for 0 s at step 3 \(line 12: cancel"):
        await guarded(never.wait(), "step 3 (line 12: cancel at 2026-10-10T00:00:00Z)", 0.05)


async def test_a_phase_that_ends_in_time_returns_its_result() -> None:
    async def work() -> int:
        await asyncio.sleep(0)
        return 7

    assert await guarded(work(), "anything", 5) == 7

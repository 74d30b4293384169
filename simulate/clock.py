"""The simulated clock: the time-skipping server's clock plus a whole-second offset.

Temporal's test server starts at today's time and only moves forward, so a scenario that
starts on another date runs its subscription with ``clock_offset_seconds`` (the workflow
adds it to ``workflow.now()``). The offset is rounded down and the server is then slept
forward to the exact start, so no simulated instant is ever earlier than the scenario
says (a step at 00:00 must not land on the previous day).

Between skips the server's clock runs at wall speed; it skips only inside `advance_to`,
and only while no activity or workflow task is outstanding, so every timer fires with
its work done at its own instant.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment


class SimulatedClock:
    """The clock of one simulation on ``env`` (shared with whatever else runs there)."""

    def __init__(self, env: WorkflowEnvironment) -> None:
        self.env = env
        self.offset = 0

    async def start_at(self, at: datetime) -> None:
        """Choose the offset so the simulated time is ``at`` now (to within wall-clock noise)."""
        server_now = await self.env.get_current_time()
        self.offset = math.floor((at - server_now).total_seconds())
        await self.advance_to(at)

    async def now(self) -> datetime:
        """The simulated time."""
        return await self.env.get_current_time() + timedelta(seconds=self.offset)

    async def advance_to(self, at: datetime) -> None:
        """Skip to ``at``; timers due on the way fire at their instants.

        A skip held back for long (an activity retrying against a slow dependency) can end
        with an RPC timeout: ask again for what is left.
        """
        failures = 0
        while (gap := at - await self.now()).total_seconds() > 0:
            try:
                await self.env.sleep(gap)
            except RPCError:
                failures += 1
                if failures > 10:
                    raise

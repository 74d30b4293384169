"""How a simulation stops when it must: a phase that makes no progress, or Ctrl-C."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from typing import TypeVar

STALL_TIMEOUT_S = 120.0
T = TypeVar("T")


class SimulationError(RuntimeError):
    """The run could not go on (not a refused step: those are reported)."""


class SimulationStalled(SimulationError):
    """The watchdog: one phase of the run made no progress within `STALL_TIMEOUT_S`."""


class SimulationInterrupted(SimulationError):
    """The person asked to stop (Ctrl-C): the run stops at the next poll, servers stopped."""


def stall_timeout() -> float:
    """Seconds one phase (a step, the advance to ``end``) may take before the run is called
    stalled (a whole 12-month scenario takes seconds); ``TENURE_SIMULATE_STALL_S`` overrides."""
    return float(os.environ.get("TENURE_SIMULATE_STALL_S", STALL_TIMEOUT_S))


async def guarded(work: Awaitable[T], where: str, timeout_s: float) -> T:
    """``await work``, or raise `SimulationStalled` naming ``where`` after ``timeout_s``.

    Whatever stalls (a server that stops answering, a clock that never skips), the command
    ends with the place it stalled at, and the caller's context managers stop the servers.
    """
    try:
        return await asyncio.wait_for(work, timeout_s)
    except TimeoutError:
        raise SimulationStalled(f"the run stalled for {timeout_s:.0f} s at {where}") from None
    except SimulationInterrupted:
        raise SimulationInterrupted(f"interrupted at {where}") from None

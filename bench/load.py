"""Closed-loop load: C callers each sending one request at a time for S seconds."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Operation = Callable[[random.Random], Awaitable[bool]]


@dataclass
class PhaseResult:
    """What one measured phase did."""

    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def ops_per_s(self) -> float:
        """Successful operations per second."""
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Nearest-rank percentile of successful latencies, ms."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, round(q / 100 * len(ordered)))
        return ordered[rank - 1]


async def closed_loop(callers: int, seconds: float, operation: Operation, seed: int) -> PhaseResult:
    """Run ``operation`` from ``callers`` concurrent loops until ``seconds`` have passed.

    Only successful operations count towards throughput and latency; an operation that
    returns False or raises is an error.
    """
    deadline = time.monotonic() + seconds
    result = PhaseResult(seconds=seconds)

    async def caller(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                ok = await operation(rng)
            except Exception:
                ok = False
            if ok:
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                result.errors += 1

    began = time.monotonic()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    result.seconds = time.monotonic() - began
    return result


async def bounded(limit: int, jobs: list[Callable[[], Awaitable[None]]]) -> None:
    """Run ``jobs`` with at most ``limit`` at once."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[None]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(one(j) for j in jobs))

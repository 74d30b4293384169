"""The entitlements benchmark's load: closed-loop callers on keep-alive HTTP/1.1 connections.

A deliberately small client (pre-encoded requests, one connection per caller, a response read
by its Content-Length): on a 2-core machine the load generator shares the CPU with the API
and PostgreSQL, and a heavier client would measure itself. Both the checks and the ceiling
endpoint go through it, so their ratio compares servers, not clients.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any


def post(path: str, body: bytes, token: str) -> bytes:
    """A keep-alive POST of a JSON ``body``, encoded once."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def get(path: str, token: str) -> bytes:
    """A keep-alive GET, encoded once."""
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\r\n".encode()


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def closed_loop(host: str, port: int, requests: Sequence[bytes], callers: int) -> dict[str, Any]:
    """Send ``requests`` (in order, shared by ``callers`` connections, one in flight each).

    Returns:
        requests, failures (status other than 200), per_s, p50_ms, p99_ms.
    """
    queue = list(reversed(requests))
    latencies: list[float] = []
    failures = 0
    connections = [await asyncio.open_connection(host, port) for _ in range(callers)]

    async def caller(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal failures
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            status = await _exchange(reader, writer, request)
            latencies.append(time.perf_counter() - started)
            failures += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(caller(r, w) for r, w in connections))
    wall = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    latencies.sort()
    return {
        "requests": len(requests),
        "failures": failures,
        "per_s": round(len(requests) / wall, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }

"""The benchmark's servers: embedded PostgreSQL, the Temporal dev server, the Stripe emulator,
the worker process.

Everything lives in one temporary directory on free ports and is stopped by pid at the end.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.process import ChildProcess
from devstack.temporal import TemporalDevServer


def log(message: str) -> None:
    """Progress on stderr (stdout carries only the JSON result line)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _quiet(name: str, line: str) -> None:
    """Server logs are noise unless a server fails to start (it raises then)."""


@dataclass
class WorkerProcess:
    """`python -m bench._worker` as a child: ready signal, RSS, orderly stop."""

    argv: list[str]
    env: dict[str, str] | None = None  # the child's whole environment; None: inherit ours
    _lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=40))
    _ready: threading.Event = field(default_factory=threading.Event)
    _child: ChildProcess | None = None

    def _sink(self, name: str, line: str) -> None:
        self._lines.append(line)
        if line.strip() == "ready":
            self._ready.set()

    def start(self, timeout: float = 120.0) -> None:
        """Start the worker and wait until it polls."""
        self._child = ChildProcess("worker", self.argv, self._sink, env=self.env)
        self._child.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if not self._child.running() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("benchmark worker did not start:\n" + "\n".join(self._lines))

    def rss_mib(self) -> float:
        """Resident memory of the worker process, MiB."""
        assert self._child is not None
        assert self._child.pid is not None
        return psutil.Process(self._child.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        """SIGTERM (the worker drains), then kill if it lingers."""
        if self._child is not None:
            self._child.stop(timeout=30)
            self._child = None


@dataclass
class StripeEmulatorProcess:
    """`python -m devstack.stripe_emulator` as a child on a free port, ready once healthy.

    A child rather than the in-process `EmulatorServer`: the load client and the worker are
    separate processes, and the emulator's CPU must not be charged to either of them.
    """

    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)  # e.g. ["--rate-limit", "100"]
    _lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=40))
    _child: ChildProcess | None = None

    @property
    def url(self) -> str:
        """Base address of the emulated Stripe API."""
        return f"http://127.0.0.1:{self.port}"

    def _sink(self, name: str, line: str) -> None:
        self._lines.append(line)

    def start(self, timeout: float = 30.0) -> None:
        """Start the emulator and wait until its health endpoint answers."""
        argv = [sys.executable, "-m", "devstack.stripe_emulator", "--host", "127.0.0.1"]
        self._child = ChildProcess(
            "stripe",
            [*argv, "--port", str(self.port), "--log-level", "warning", *self.extra_args],
            self._sink,
        )
        self._child.start()
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if not self._child.running() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Stripe emulator did not start:\n" + "\n".join(self._lines))
            time.sleep(0.2)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/_emulator/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """SIGTERM, then kill if it lingers."""
        if self._child is not None:
            self._child.stop()
            self._child = None


class Stack:
    """PostgreSQL + Temporal dev server + Stripe emulator (+ the worker once `start_worker` is called)."""

    def __init__(
        self, tmp: Path, emulator_args: list[str] | None = None, worker_env: dict[str, str] | None = None
    ) -> None:
        """Prepare (not start) the servers.

        Args:
            tmp: directory for PostgreSQL's and Temporal's files.
            emulator_args: extra command-line arguments of the Stripe emulator.
            worker_env: variables added to the worker child's environment (e.g. its settings).
        """
        self.postgres = EmbeddedPostgres(tmp / "pg", free_port(), _quiet)
        self.temporal = TemporalDevServer(tmp / "temporal", free_port(), None, _quiet)
        self.stripe = StripeEmulatorProcess(extra_args=list(emulator_args or []))
        self.worker_env = dict(worker_env or {})
        self.worker: WorkerProcess | None = None

    def start(self) -> None:
        """Start and migrate PostgreSQL, start Temporal (UI off, Tenure's search attributes) and
        the Stripe emulator."""
        self.postgres.start()
        upgrade(self.postgres.url)
        self.temporal.start()
        self.stripe.start()

    def start_worker(self, task_queue: str, max_cached: int) -> WorkerProcess:
        """The worker as a separate process, so its memory is measured alone."""
        argv = [
            sys.executable,
            "-m",
            "bench._worker",
            "--address",
            self.temporal.address,
            "--database-url",
            self.postgres.url,
            "--stripe-url",
            self.stripe.url,
            "--task-queue",
            task_queue,
            "--max-cached-workflows",
            str(max_cached),
        ]
        env = {**os.environ, **self.worker_env} if self.worker_env else None
        self.worker = WorkerProcess(argv, env)
        self.worker.start()
        return self.worker

    def stop(self) -> None:
        """Stop in reverse order."""
        if self.worker is not None:
            self.worker.stop()
        self.stripe.stop()
        self.temporal.stop()
        self.postgres.stop()


def print_result(measure: Coroutine[Any, Any, dict[str, Any]]) -> None:
    """Run ``measure`` and print its result as one JSON line on stdout.

    Temporal's core logs warnings straight to file descriptor 1: while the benchmark runs,
    fd 1 points at stderr, so stdout carries only the result line.
    """
    sys.stdout.flush()
    result_out = os.dup(1)
    os.dup2(2, 1)
    try:
        result = asyncio.run(measure)
    finally:
        sys.stdout.flush()
        os.dup2(result_out, 1)
        os.close(result_out)
    print(json.dumps(result), flush=True)


def run_on_stack(
    prefix: str,
    build: Callable[[Path], Stack],
    measure: Callable[[Stack], Coroutine[Any, Any, dict[str, Any]]],
) -> None:
    """Start a stack in a temporary directory, run ``measure`` on it, stop it, print the JSON."""

    async def on_stack() -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            stack = build(Path(tmp))
            try:
                stack.start()
                return await measure(stack)
            finally:
                stack.stop()

    print_result(on_stack())

"""The benchmark's servers: embedded PostgreSQL, the Temporal dev server, the worker process.

Everything lives in one temporary directory on free ports and is stopped by pid at the end.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
    _lines: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=40))
    _ready: threading.Event = field(default_factory=threading.Event)
    _child: ChildProcess | None = None

    def _sink(self, name: str, line: str) -> None:
        self._lines.append(line)
        if line.strip() == "ready":
            self._ready.set()

    def start(self, timeout: float = 120.0) -> None:
        """Start the worker and wait until it polls."""
        self._child = ChildProcess("worker", self.argv, self._sink)
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


class Stack:
    """PostgreSQL + Temporal dev server (+ the worker once `start_worker` is called)."""

    def __init__(self, tmp: Path) -> None:
        self.postgres = EmbeddedPostgres(tmp / "pg", free_port(), _quiet)
        self.temporal = TemporalDevServer(tmp / "temporal", free_port(), None, _quiet)
        self.worker: WorkerProcess | None = None

    def start(self) -> None:
        """Start and migrate PostgreSQL, start Temporal (UI off, Tenure's search attributes)."""
        self.postgres.start()
        upgrade(self.postgres.url)
        self.temporal.start()

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
            "--task-queue",
            task_queue,
            "--max-cached-workflows",
            str(max_cached),
        ]
        self.worker = WorkerProcess(argv)
        self.worker.start()
        return self.worker

    def stop(self) -> None:
        """Stop in reverse order."""
        if self.worker is not None:
            self.worker.stop()
        self.temporal.stop()
        self.postgres.stop()

"""Child processes owned by `tenure dev`: started in order, logs streamed, stopped in order.

Children run in their own session so the terminal's Ctrl-C reaches only us; we then
stop them in reverse start order. On Linux each child also gets PR_SET_PDEATHSIG so
that it dies with us even if we are killed without a chance to clean up.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO

LogSink = Callable[[str, str], None]

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildProcess:
    """One owned child process with a name, a log pump and an orderly stop."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        sink: LogSink,
        *,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self._sink = sink
        self._env = env
        self._cwd = cwd
        self._user = user
        self._stop_signal = stop_signal
        self._proc: subprocess.Popen[str] | None = None
        self._pump: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The child's pid once started."""
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the child and begin streaming its output to the sink."""
        self._proc = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=self._env,
            cwd=self._cwd,
            user=self._user,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        assert self._proc.stdout is not None
        self._pump = threading.Thread(
            target=self._pump_lines, args=(self._proc.stdout,), name=f"log-{self.name}", daemon=True
        )
        self._pump.start()

    def _pump_lines(self, stream: IO[str]) -> None:
        for line in stream:
            self._sink(self.name, line.rstrip("\n"))

    def running(self) -> bool:
        """True while the child has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def exit_code(self) -> int | None:
        """The exit status, or None while running."""
        return None if self._proc is None else self._proc.poll()

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the child to stop, then kill its whole process group if it lingers."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, self._stop_signal)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._sink(self.name, f"did not stop within {timeout:.0f}s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # Grandchildren (e.g. uvicorn workers) share the group: make sure none survive.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if self._pump is not None:
            self._pump.join(2)

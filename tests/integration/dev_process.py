"""`tenure dev` and the other `tenure` commands as a person runs them: child processes on
free ports, their output collected (shared by the tests of `tenure dev` and `--demo`)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from devstack.ports import free_port


def dev_env(ports: dict[str, int], **extra: str) -> dict[str, str]:
    """This process's environment without Tenure's, Stripe's or Temporal's variables, plus
    the ports of ``ports`` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TENURE_", "STRIPE_", "TEMPORAL_"))}
    env.update(
        TENURE_DEV_POSTGRES_PORT=str(ports["pg"]),
        TENURE_DEV_TEMPORAL_PORT=str(ports["temporal"]),
        TENURE_DEV_TEMPORAL_UI_PORT=str(ports["ui"]),
        TENURE_DEV_STRIPE_PORT=str(ports["stripe"]),
        TENURE_API_PORT=str(ports["api"]),
        TENURE_DEV_SMTP_PORT=str(ports["smtp"]),
        TENURE_LOG_LEVEL="WARNING",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def dev_ports() -> dict[str, int]:
    """A free port for each part of the stack."""
    return {name: free_port() for name in ("pg", "temporal", "ui", "stripe", "api", "smtp")}


def tenure(
    *args: str, ports: dict[str, int], cwd: Path | None = None, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``tenure args...`` to its end in ``cwd`` (None: here) with `dev_env`."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=cwd,
        env=dev_env(ports, **extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Dev:
    """A running `tenure dev` whose output lines are collected."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float) -> str:
        """The first line (from here on) that contains ``text``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed; output:\n" + "\n".join(self.seen[-60:]))


@contextmanager
def running_dev(cwd: Path, ports: dict[str, int], *args: str, timeout: float = 120) -> Iterator[Dev]:
    """`tenure dev args...` in ``cwd``, once it printed its URLs; killed if still running."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev", *args],
        cwd=cwd,
        env=dev_env(ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    dev = Dev(proc)
    try:
        dev.wait_for("Ctrl-C stops everything", timeout=timeout)
        dev.wait_for("postgresql://postgres@", timeout=10)  # the panel's last stack row
        yield dev
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def interrupt_and_check_nothing_is_left(dev: Dev) -> None:
    """Ctrl-C: `tenure dev` exits 0 and every process it started is gone."""
    children = psutil.Process(dev.proc.pid).children(recursive=True)
    assert len(children) >= 5  # postgres, temporal, emulator, worker, api (and their helpers)
    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=90) == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"left running: {[(p.pid, p.name()) for p in alive]}"


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (no traceback anywhere)."""
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]

"""`tenure dev` for real: start, probe every URL it prints, Ctrl-C, nothing left running."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest

from devstack.ports import free_port

pytestmark = pytest.mark.slow


def _env(ports: dict[str, int], **extra: str) -> dict[str, str]:
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


def _ports() -> dict[str, int]:
    return {name: free_port() for name in ("pg", "temporal", "ui", "stripe", "api", "smtp")}


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

    def wait_for(self, text: str, timeout: float) -> None:
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
                return
        raise AssertionError(f"{text!r} not printed; output:\n" + "\n".join(self.seen[-60:]))


@contextmanager
def running_dev(cwd: Path, ports: dict[str, int]) -> Iterator[Dev]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "dev"],
        cwd=cwd,
        env=_env(ports),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    dev = Dev(proc)
    try:
        dev.wait_for("Ctrl-C stops everything", timeout=120)
        dev.wait_for("postgresql://postgres@", timeout=10)  # the panel's last row
        yield dev
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _interrupt_and_check_nothing_is_left(dev: Dev) -> None:
    children = _descendants(dev.proc.pid)
    assert len(children) >= 5  # postgres, temporal, emulator, worker, api (and their helpers)
    dev.proc.send_signal(signal.SIGINT)
    assert dev.proc.wait(timeout=90) == 0
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"left running: {[(p.pid, p.name()) for p in alive]}"


def test_dev_serves_every_url_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = _ports()
    with running_dev(tmp_path, ports) as dev:
        api = f"http://127.0.0.1:{ports['api']}"
        assert httpx.get(f"{api}/docs", timeout=10).status_code == 200
        assert httpx.get(f"{api}/openapi.json", timeout=10).json()["info"]["title"] == "Tenure"
        health = httpx.get(f"{api}/healthz", params={"deep": "true"}, timeout=30)
        assert health.status_code == 200, health.text
        assert health.json()["checks"] == {"database": "ok", "temporal": "ok", "worker": "ok"}
        assert httpx.get(f"http://127.0.0.1:{ports['ui']}/", timeout=10).status_code == 200
        emulator = httpx.get(f"http://127.0.0.1:{ports['stripe']}/_emulator/health", timeout=10)
        assert emulator.status_code == 200
        # Invoice events reach the API's webhook endpoint, signed with the dev secret.
        endpoints = httpx.get(f"http://127.0.0.1:{ports['stripe']}/_emulator/webhooks", timeout=10).json()
        listed = endpoints["data"] if isinstance(endpoints, dict) else endpoints
        assert [e["url"] for e in listed] == [f"{api}/v1/stripe/webhook"]
        printed = "\n".join(dev.seen)
        for port in (ports["api"], ports["ui"], ports["stripe"]):
            assert f"127.0.0.1:{port}" in printed

        # A second terminal in the same directory needs no variable: the running `tenure dev`
        # describes itself in .tenure/dev.json (its owner's only), and the CLI reads it.
        state = tmp_path / ".tenure" / "dev.json"
        assert state.stat().st_mode & 0o077 == 0
        # Something written now must be there after a restart.
        created = subprocess.run(
            [sys.executable, "-m", "cli.main", "tokens", "create", "kept-across-restarts"],
            cwd=tmp_path,
            env=_env(ports),
            capture_output=True,
            text=True,
            check=False,
        )
        assert created.returncode == 0, created.stderr
        assert "tnr_" in created.stdout
        # Temporal too, through the dev payload key: an empty list, not an error.
        listed_now = subprocess.run(
            [sys.executable, "-m", "cli.main", "list", "--json"],
            cwd=tmp_path,
            env=_env(ports),
            capture_output=True,
            text=True,
            check=False,
        )
        assert listed_now.returncode == 0, listed_now.stderr
        _interrupt_and_check_nothing_is_left(dev)

    assert not state.exists()  # gone with the stack: the next command says what to set
    after = subprocess.run(
        [sys.executable, "-m", "cli.main", "tokens", "list"],
        cwd=tmp_path,
        env=_env(ports),
        capture_output=True,
        text=True,
        check=False,
    )
    assert after.returncode == 2
    assert "TENURE_DATABASE_URL is not set" in _one_line_error(after)
    assert (tmp_path / ".tenure" / "postgres" / "PG_VERSION").exists()
    assert (tmp_path / ".tenure" / "temporal" / "temporal.db").exists()

    with running_dev(tmp_path, ports) as dev:
        listed = subprocess.run(
            [sys.executable, "-m", "cli.main", "tokens", "list"],
            env=_env(ports, TENURE_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{ports['pg']}/tenure"),
            capture_output=True,
            text=True,
            check=True,
        )
        assert "kept-across-restarts" in listed.stdout
        _interrupt_and_check_nothing_is_left(dev)


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_taken_port_is_one_clear_line_and_starts_nothing(tmp_path: Path) -> None:
    ports = _ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "dev"],
            cwd=tmp_path,
            env=_env(ports),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    line = _one_line_error(result)
    assert f"port {ports['api']} for the API is already in use" in line
    assert "TENURE_API_PORT" in line
    assert not (tmp_path / ".tenure").exists()


@pytest.mark.parametrize(
    ("command", "extra", "code", "expected"),
    [
        (["dev"], {"TENURE_CATALOG": "/nowhere/plans.toml"}, 2, "TENURE_CATALOG"),
        (
            ["migrate"],
            {"TENURE_DATABASE_URL": "postgresql://postgres@127.0.0.1:{closed}/tenure"},
            3,
            "cannot reach the database",
        ),
        (["migrate"], {"TENURE_DATABASE_URL": "mysql://x@y/z"}, 2, "must be a PostgreSQL URL"),
        (["worker"], {}, 2, "TENURE_DATABASE_URL is not set"),
        (["api"], {"TENURE_API_PORT": "eighty"}, 2, "TENURE_API_PORT"),
    ],
)
def test_bad_configuration_is_one_line_with_what_to_fix(
    tmp_path: Path, command: list[str], extra: dict[str, str], code: int, expected: str
) -> None:
    values = {k: v.format(closed=free_port()) for k, v in extra.items()}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *command],
        cwd=tmp_path,
        env=_env(_ports(), **values),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == code, result.stderr
    assert expected in _one_line_error(result)
    assert not (tmp_path / ".tenure").exists()

"""`tenure simulate` as people run it: exit codes, clean stdout, no server left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from simulate.stack import private_stack
from tests.scenarios.conftest import EXAMPLES

MARK = "TENURE_SIMULATE_TEST_RUN"


def _marked(mark: str) -> list[psutil.Process]:
    """Live processes whose environment carries ``mark`` (children inherit it)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get(MARK) == mark and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _tenure(*args: str, mark: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "simulate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, MARK: mark},
        cwd=Path(__file__).resolve().parents[2],
    )


def test_the_cli_prints_the_report_and_leaves_no_server_running() -> None:
    mark = uuid.uuid4().hex
    done = _tenure(str(EXAMPLES / "seats-proration.yaml"), "--stable-ids", mark=mark)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is the JSON and nothing else
    assert [i["total"] for i in report["invoices"]] == [6000, 10500]
    assert _marked(mark) == []


def test_a_malformed_scenario_exits_2_naming_the_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    text = (
        (EXAMPLES / "seats-proration.yaml")
        .read_text()
        .replace("assign_seat: {user: carol", "asign_seat: {user: carol")
    )
    scenario.write_text(text)
    bad_line = text.splitlines().index("    asign_seat: {user: carol, type: pro, cycle: monthly}") + 1
    mark = uuid.uuid4().hex
    done = _tenure(str(scenario), mark=mark)
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"bad.yaml:{bad_line}: unknown verb 'asign_seat'" in " ".join(done.stderr.split())
    assert _marked(mark) == []


async def _fail_inside_a_private_stack(seen: dict[str, psutil.Process]) -> None:
    # Only what the stack started: the session's own servers are children of this process too.
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    async with private_stack():
        children = psutil.Process().children(recursive=True)
        seen.update({f"{p.name()}:{p.pid}": p for p in children if p.pid not in before})
        raise RuntimeError("boom")


async def test_a_private_stack_stops_everything_when_the_run_fails() -> None:
    started: dict[str, psutil.Process] = {}
    with pytest.raises(RuntimeError, match="boom"):
        await _fail_inside_a_private_stack(started)
    names = {key.split(":")[0] for key in started}
    assert "postgres" in names
    assert any("temporal" in n for n in names), names
    assert [k for k, p in started.items() if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []


def test_a_stalled_run_exits_3_naming_where_and_stops_its_servers() -> None:
    """The watchdog: any phase that makes no progress within its limit ends the command with
    exit 3 and the place it stalled at (here a limit no start can meet), servers stopped."""
    mark = uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "simulate", str(EXAMPLES / "seats-proration.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, MARK: mark, "TENURE_SIMULATE_STALL_S": "0.01"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    assert "the run stalled for 0 s at the start of the subscription" in " ".join(done.stderr.split())
    assert _marked(mark) == []


def test_ctrl_c_stops_the_run_and_every_server_at_once(tmp_path: Path) -> None:
    """Ctrl-C is honoured at the engine's next poll (a cancellation alone could be absorbed by
    an RPC call and the run went on to the end): exit 130 naming the step, nothing left."""
    scenario = tmp_path / "long.yaml"
    scenario.write_text(
        "catalog: seats\nstart: 2026-09-03T09:00:00Z\nend: 2030-09-03T00:00:00Z\n"
        "workspace:\n  id: acme\n  members:\n    - {user: alice, role: admin}\n"
        "steps:\n  - at: 2026-09-03T09:00:00Z\n    assign_seat: {user: alice, type: pro}\n"
    )
    mark = uuid.uuid4().hex
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "simulate", str(scenario)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, MARK: mark},
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        for _ in range(600):  # until the run is under way: its time-skipping server is up
            if any("temporal-test-server" in p.name() for p in _marked(mark)):
                break
            time.sleep(0.05)
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert stdout == ""
    assert "interrupted at" in stderr
    assert _marked(mark) == []

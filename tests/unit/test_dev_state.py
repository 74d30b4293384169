"""How a running `tenure dev` is found by the commands of a second terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from config.dev_state import remove_state, running_environment, state_path, write_state

ENV = {
    "TENURE_DATABASE_URL": "postgresql://postgres@127.0.0.1:5999/tenure",
    "TEMPORAL_ADDRESS": "127.0.0.1:7999",
    "HOME": "/root",  # not shared: only what a support command needs is written
}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_dev_shares_only_the_variables_a_command_needs(tmp_path: Path) -> None:
    path = write_state(tmp_path, ENV, {"API docs": "http://127.0.0.1:8000/docs"})
    assert path.stat().st_mode & 0o777 == 0o600
    assert running_environment(tmp_path) == {k: v for k, v in ENV.items() if k != "HOME"}


def test_a_file_left_by_a_killed_dev_is_ignored(tmp_path: Path) -> None:
    path = write_state(tmp_path, ENV, {})
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "pid": _dead_pid()}))
    assert running_environment(tmp_path) == {}


def test_no_file_or_a_garbled_one_is_no_dev(tmp_path: Path) -> None:
    assert running_environment(tmp_path) == {}
    state_path(tmp_path).write_text("{not json")
    assert running_environment(tmp_path) == {}


def test_stopping_removes_only_its_own_file(tmp_path: Path) -> None:
    path = write_state(tmp_path, ENV, {})
    other = {**json.loads(path.read_text()), "pid": 1}  # another dev's file (pid 1 is alive)
    path.write_text(json.dumps(other))
    remove_state(tmp_path)
    assert path.exists()
    write_state(tmp_path, ENV, {})
    remove_state(tmp_path)
    assert not path.exists()

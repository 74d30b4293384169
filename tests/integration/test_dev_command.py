"""`tenure dev` for real: start, probe every URL it prints, Ctrl-C, nothing left running."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from devstack.ports import free_port
from tests.integration.dev_process import (
    dev_ports,
    interrupt_and_check_nothing_is_left,
    one_line_error,
    running_dev,
    tenure,
)

pytestmark = pytest.mark.slow


def test_dev_serves_every_url_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    ports = dev_ports()
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
        created = tenure("tokens", "create", "kept-across-restarts", ports=ports, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
        assert "tnr_" in created.stdout
        # Temporal too, through the dev payload key: an empty list, not an error.
        listed_now = tenure("list", "--json", ports=ports, cwd=tmp_path)
        assert listed_now.returncode == 0, listed_now.stderr
        interrupt_and_check_nothing_is_left(dev)

    assert not state.exists()  # gone with the stack: the next command says what to set
    after = tenure("tokens", "list", ports=ports, cwd=tmp_path)
    assert after.returncode == 2
    assert "TENURE_DATABASE_URL is not set" in one_line_error(after)
    assert (tmp_path / ".tenure" / "postgres" / "PG_VERSION").exists()
    assert (tmp_path / ".tenure" / "temporal" / "temporal.db").exists()

    with running_dev(tmp_path, ports) as dev:
        database = f"postgresql://postgres@127.0.0.1:{ports['pg']}/tenure"
        listed = tenure("tokens", "list", ports=ports, TENURE_DATABASE_URL=database)
        assert listed.returncode == 0, listed.stderr
        assert "kept-across-restarts" in listed.stdout
        interrupt_and_check_nothing_is_left(dev)


def test_a_taken_port_is_one_clear_line_and_starts_nothing(tmp_path: Path) -> None:
    ports = dev_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports["api"]))
        squatter.listen()
        result = tenure("dev", ports=ports, cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    line = one_line_error(result)
    assert f"port {ports['api']} for the API is already in use" in line
    assert "TENURE_API_PORT" in line
    assert not (tmp_path / ".tenure").exists()


@pytest.mark.parametrize(
    ("command", "extra", "code", "expected"),
    [
        (["dev"], {"TENURE_CATALOG": "/nowhere/plans.toml"}, 2, "TENURE_CATALOG"),
        # The demo is a per-seat workspace: refused before anything starts.
        (["dev", "--demo"], {"TENURE_CATALOG": "credits"}, 2, "TENURE_CATALOG must be a seats catalog"),
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
    result = tenure(*command, ports=dev_ports(), cwd=tmp_path, timeout=60, **values)
    assert result.returncode == code, result.stderr
    assert expected in one_line_error(result)
    assert not (tmp_path / ".tenure").exists()

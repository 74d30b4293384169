"""Integration tests share the session fixtures of `tests/conftest.py` (PostgreSQL), and one
Temporal dev server for the tests that need real visibility or Schedules (the time-skipping
server has neither)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.ports import free_port
from devstack.temporal import TemporalDevServer


def _quiet(name: str, line: str) -> None:
    """The dev server's log is noise unless it fails to start (it raises then)."""


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemporalDevServer]:
    """A Temporal dev server on 127.0.0.1 (each test module works on its own task queue)."""
    server = TemporalDevServer(tmp_path_factory.mktemp("temporal"), free_port(), None, _quiet)
    server.start()
    try:
        yield server
    finally:
        server.stop()

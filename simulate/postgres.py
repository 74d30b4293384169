"""A private stack's PostgreSQL, started in a thread as early as its caller likes.

`tenure simulate` starts it before it imports the worker's modules: initdb and the server
are child processes, so they run on the other core while this process imports (about
0.6 s of imports after the command's dispatch, ~1.5 s of PostgreSQL start-up).
Imports only what the CLI has already imported (psycopg, the migrations).
"""

from __future__ import annotations

import contextlib
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from db.migrate import upgrade
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres


def _quiet(name: str, line: str) -> None:
    """Server logs are noise here; a server that fails to start raises with its reason."""


def start_postgres(directory: Path) -> EmbeddedPostgres:
    """An embedded PostgreSQL in ``directory``, migrated to head (stopped if that fails);
    throwaway: nothing is flushed to disk, the directory is removed after the run."""
    server = EmbeddedPostgres(directory, free_port(), _quiet, throwaway=True)
    try:
        server.start()
        upgrade(server.url)
    except BaseException:
        server.stop()
        raise
    return server


class PostgresStart:
    """A PostgreSQL starting in a temporary directory; `close` stops it and removes the
    directory, whether or not it was ever used (idempotent)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="tenure-simulate-")
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="simulate-postgres")
        self.future: Future[EmbeddedPostgres] = self._pool.submit(start_postgres, Path(self._tmp.name) / "pg")

    def close(self) -> None:
        """Wait for the start to end, stop the server, remove its directory."""
        with contextlib.suppress(BaseException):
            self.future.result().stop()
        self._pool.shutdown(wait=True)
        self._tmp.cleanup()

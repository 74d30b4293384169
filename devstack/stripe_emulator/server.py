"""Run an ASGI app on uvicorn in a background thread (tests, embedded dev stacks)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp

from devstack.stripe_emulator.app import create_app
from devstack.stripe_emulator.settings import EmulatorSettings


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket (port 0 picks a free port).

    Args:
        host: interface address.
        port: port, or 0.

    Returns:
        The bound socket.

    Raises:
        OSError: the port is taken (``errno.EADDRINUSE``) or the host is invalid.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this on Linux. Without it, uvicorn's separate
    # header and body writes meet the client's delayed ACK: ~40 ms per request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    # Not inheritable (Python's default): a child spawned while this server runs (the
    # Temporal test server, `tenure simulate`) would otherwise keep the listening socket
    # open after the server stops, and a client of that port would then connect to a
    # socket nobody accepts on and wait forever (the stalls seen in full test runs).
    return sock


class BackgroundServer:
    """Uvicorn serving an ASGI app from a daemon thread with its own event loop."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare (not start) the server.

        Args:
            app: the ASGI app.
            host: interface to bind.
            port: port to bind, 0 for a free one.
        """
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (valid once started)."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> None:
        """Bind, start serving in the background, and wait until ready.

        Args:
            timeout_s: how long to wait for uvicorn's startup.

        Raises:
            OSError: the port could not be bound.
            RuntimeError: the server did not start in time.
        """
        if self._server is not None:
            raise RuntimeError("already started")
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", access_log=False)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.01)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._server = None
        self._thread = None

    def __enter__(self) -> BackgroundServer:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()


class EmulatorServer(BackgroundServer):
    """The Stripe emulator on 127.0.0.1, in a background thread.

    Example:
        with EmulatorServer() as emu:
            client = stripe.StripeClient("sk_test_x", base_addresses={"api": emu.url})
    """

    def __init__(
        self, settings: EmulatorSettings | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Prepare an emulator server.

        Args:
            settings: emulator knobs (defaults suit tests).
            host: interface to bind.
            port: port to bind, 0 for a free one.
        """
        super().__init__(create_app(settings), host, port)

    def __enter__(self) -> EmulatorServer:
        """Start the server."""
        self.start()
        return self

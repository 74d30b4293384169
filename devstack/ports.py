"""Port checks with errors people can act on."""

from __future__ import annotations

import socket
import time


class PortInUseError(RuntimeError):
    """A port the stack needs is already taken."""


def ensure_free(host: str, port: int, what: str, setting: str) -> None:
    """Fail with an actionable message when ``host:port`` cannot be bound.

    Args:
        host: address to bind.
        port: the port.
        what: human name of the service that needs it.
        setting: the environment variable that moves it.

    Raises:
        PortInUseError: the port is taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers bind with SO_REUSEADDR, so connections of a previous run lingering in
        # TIME_WAIT do not block them; only a live listener does. Probe the same way.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(
                f"port {port} for {what} is already in use: stop what holds it "
                f"or choose another port with {setting}=<port>"
            ) from None


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the OS for a currently unused port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    """Wait until something accepts TCP connections on ``host:port``.

    Returns:
        True when the port answered within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False

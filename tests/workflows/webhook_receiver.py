"""A real webhook consumer for the tests: a stdlib HTTP server on 127.0.0.1 that verifies every
delivery with `standardwebhooks` as docs/webhooks.md tells consumers to, and can fail on
purpose (500s for chosen workspaces, or for all) or go away and come back on the same port."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from devstack.ports import free_port


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and what the receiver answered."""

    at: float  # time.monotonic()
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int

    @property
    def event(self) -> dict[str, Any]:
        """The body, parsed."""
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """Start, stop, start again; ``secret`` must be set to the endpoint's before events flow."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secret: str | None = None
        self.fail_all = False
        self.fail_workspaces: set[str] = set()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where the endpoint points."""
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        """Listen (again) on the same port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._answer(self, headers, body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Go away: connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _answer(self, handler: BaseHTTPRequestHandler, headers: dict[str, str], body: bytes) -> None:
        try:
            assert self.secret is not None
            Webhook(self.secret).verify(body, headers)
            verified = True
        except (WebhookVerificationError, AssertionError):
            verified = False
        workspace = json.loads(body).get("workspace_id") if verified else None
        status = 200
        if not verified:
            status = 400
        elif self.fail_all or workspace in self.fail_workspaces:
            status = 500
        with self._lock:
            self.received.append(Received(time.monotonic(), headers, body, verified, status))
        handler.send_response(status)
        handler.send_header("content-length", "0")
        handler.end_headers()

    def acked(self) -> list[Received]:
        """Requests answered 2xx, in arrival order."""
        with self._lock:
            return [r for r in self.received if r.status == 200]

    def all(self) -> list[Received]:
        """Every request, in arrival order."""
        with self._lock:
            return list(self.received)

"""`tenure dev`: the whole product on embedded defaults, as child processes we own.

Start order: PostgreSQL → migrations → Temporal dev server → Stripe emulator (only
without STRIPE_API_KEY) → SMTP sink (the e-mail relay's server: every message lands in
``<data_dir>/mail/``, read with `tenure mail`) → worker → API. Stop order is the reverse.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from config.codec import ensure_key_file
from config.dev_state import ensure_secret_file, remove_state, write_state
from config.settings import Settings
from db.migrate import upgrade
from devstack.ports import ensure_free, wait_for_port
from devstack.postgres import EmbeddedPostgres
from devstack.process import ChildProcess, LogSink
from devstack.temporal import TemporalDevServer

DEV_WEBHOOK_SECRET = "whsec_tenure_dev"  # the emulator signs with it; never used with real Stripe


class StackError(RuntimeError):
    """A part of the stack failed to start; the message says what to fix."""


@dataclass
class DevStack:
    """Everything `tenure dev` runs, in start order."""

    settings: Settings
    sink: LogSink
    postgres: EmbeddedPostgres | None = None
    temporal: TemporalDevServer | None = None
    children: list[ChildProcess] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    # What the children run with (the database, Temporal, Stripe): `tenure dev --demo` seeds with it.
    env: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def emulated_stripe(self) -> bool:
        """The emulator runs only when no real Stripe key is configured."""
        return self.settings.stripe_api_key is None

    def start(self) -> None:
        """Start every part in order; on failure stop what was started and raise."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        s = self.settings
        data = Path(s.data_dir)
        self._preflight()
        self.postgres = EmbeddedPostgres(data / "postgres", s.dev_postgres_port, self.sink)
        self.postgres.start()
        self.sink("tenure", "applying database migrations")
        upgrade(self.postgres.url)
        self.temporal = TemporalDevServer(
            data / "temporal",
            s.dev_temporal_port,
            s.dev_temporal_ui_port,
            self.sink,
            s.temporal_namespace,
            codec_endpoint=f"http://127.0.0.1:{s.api_port}/codec",
        )
        self.temporal.start()
        env = self.env = self._child_env()
        if self.emulated_stripe:
            self._spawn(
                "stripe",
                [
                    sys.executable,
                    "-m",
                    "devstack.stripe_emulator",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(s.dev_stripe_port),
                ],
                env,
                port=s.dev_stripe_port,
            )
            self.urls["Stripe emulator"] = f"http://127.0.0.1:{s.dev_stripe_port}"
        mail = data / "mail"
        sink = [
            sys.executable,
            "-m",
            "devstack.smtp_sink",
            "--port",
            str(s.dev_smtp_port),
            "--dir",
            str(mail),
        ]
        self._spawn("smtp", sink, env, port=s.dev_smtp_port)
        self.urls["Mail (SMTP sink)"] = f"smtp://127.0.0.1:{s.dev_smtp_port} → {mail}/ (`tenure mail list`)"
        self._spawn("worker", [sys.executable, "-m", "cli.main", "worker"], env)
        self._spawn("api", [sys.executable, "-m", "cli.main", "api"], env, port=s.api_port)
        self._wait_healthy(f"http://127.0.0.1:{s.api_port}/healthz?deep=true")
        if self.emulated_stripe:
            self._subscribe_webhooks()
        self.urls["API docs"] = f"http://{s.api_host}:{s.api_port}/docs"
        self.urls["API health"] = f"http://{s.api_host}:{s.api_port}/healthz"
        if self.temporal.ui_url:
            self.urls["Temporal UI"] = self.temporal.ui_url
        self.urls["Temporal"] = self.temporal.address
        self.urls["PostgreSQL"] = self.postgres.dsn
        # Last: a second terminal's `tenure` commands find a stack that is ready.
        write_state(data, env, self.urls)

    def _subscribe_webhooks(self) -> None:
        """Have the emulator deliver invoice events to the API, signed as real Stripe would
        (with a real key, the endpoint is configured in Stripe's dashboard instead)."""
        s = self.settings
        endpoint = {
            "url": f"http://127.0.0.1:{s.api_port}/v1/stripe/webhook",
            "secret": DEV_WEBHOOK_SECRET,
            "events": ["invoice.*"],
        }
        answer = httpx.post(
            f"http://127.0.0.1:{s.dev_stripe_port}/_emulator/webhooks", json=endpoint, timeout=10
        )
        if answer.status_code != 200:
            raise StackError(f"the Stripe emulator refused the webhook endpoint: {answer.text}")

    def _preflight(self) -> None:
        """Every port checked before anything starts, so a clash costs nothing."""
        s = self.settings
        ensure_free("127.0.0.1", s.dev_postgres_port, "PostgreSQL", "TENURE_DEV_POSTGRES_PORT")
        ensure_free("127.0.0.1", s.dev_temporal_port, "Temporal", "TENURE_DEV_TEMPORAL_PORT")
        ensure_free("127.0.0.1", s.dev_temporal_ui_port, "the Temporal UI", "TENURE_DEV_TEMPORAL_UI_PORT")
        if self.emulated_stripe:
            ensure_free("127.0.0.1", s.dev_stripe_port, "the Stripe emulator", "TENURE_DEV_STRIPE_PORT")
        ensure_free("127.0.0.1", s.dev_smtp_port, "the SMTP sink", "TENURE_DEV_SMTP_PORT")
        ensure_free(s.api_host, s.api_port, "the API", "TENURE_API_PORT")

    def _child_env(self) -> dict[str, str]:
        assert self.postgres is not None
        assert self.temporal is not None
        env = dict(os.environ)
        env["TENURE_DATABASE_URL"] = self.postgres.url
        env["TEMPORAL_ADDRESS"] = self.temporal.address
        env["TEMPORAL_NAMESPACE"] = self.settings.temporal_namespace
        env["PYTHONUNBUFFERED"] = "1"
        env.setdefault("TENURE_LOG_FORMAT", "text")  # a person reads these logs at a terminal
        # The relay sends to the sink: no e-mail leaves a development machine.
        env["TENURE_SMTP_HOST"] = "127.0.0.1"
        env["TENURE_SMTP_PORT"] = str(self.settings.dev_smtp_port)
        env["TENURE_SMTP_TLS"] = "none"
        env.pop("TENURE_SMTP_USER", None)
        env.pop("TENURE_SMTP_PASSWORD", None)
        env |= self._payload_env(env)
        if self.emulated_stripe:
            env["STRIPE_API_KEY"] = "sk_test_tenure_dev"
            env["TENURE_STRIPE_API_BASE"] = f"http://127.0.0.1:{self.settings.dev_stripe_port}"
            env["STRIPE_WEBHOOK_SECRET"] = DEV_WEBHOOK_SECRET
        return env

    def _payload_env(self, env: dict[str, str]) -> dict[str, str]:
        """Encrypted payloads on by default: a dev key made once under the data directory
        (kept: histories written with it stay readable), and the API as the UI's codec server
        without a token (it listens on 127.0.0.1; the UI sends none)."""
        s = self.settings
        ui = s.dev_temporal_ui_port
        extra: dict[str, str] = {}
        if "TENURE_CODEC_CORS_ORIGINS" not in env:
            extra["TENURE_CODEC_CORS_ORIGINS"] = f"http://127.0.0.1:{ui},http://localhost:{ui}"
        if "TENURE_CODEC_AUTH" not in env and s.api_host in ("127.0.0.1", "localhost", "::1"):
            extra["TENURE_CODEC_AUTH"] = "none"
        if "TENURE_PORTAL_SECRET" not in env:
            # The billing page's cookie key: made once, kept (sessions survive a restart).
            extra["TENURE_PORTAL_SECRET"] = ensure_secret_file(Path(s.data_dir).resolve() / "portal-secret")
        if "TENURE_PAYLOAD_KEYS" not in env and "TENURE_PAYLOAD_KEYS_FILE" not in env:
            path = ensure_key_file(Path(s.data_dir).resolve() / "payload-keys")
            extra["TENURE_PAYLOAD_KEYS_FILE"] = str(path)
            self.urls["Payload keys"] = str(path)
        return extra

    def _spawn(self, name: str, argv: list[str], env: dict[str, str], port: int | None = None) -> None:
        child = ChildProcess(name, argv, self.sink, env=env)
        child.start()
        with self._lock:
            self.children.append(child)
        if port is not None and not self._wait(child, port):
            raise StackError(f"{name} did not start listening on port {port} (see its log above)")

    def _wait_healthy(self, url: str, timeout: float = 120.0) -> None:
        """Ready means the API answers and a workflow ran on the worker against the database."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            dead = self.failed_child()
            if dead is not None:
                raise StackError(f"{dead.name} exited with code {dead.exit_code()} (see its log above)")
            try:
                response = httpx.get(url, timeout=10)
            except httpx.HTTPError as error:
                last = str(error)
            else:
                if response.status_code == 200:
                    return
                last = response.text
            time.sleep(0.5)
        raise StackError(f"the stack did not become healthy within {timeout:.0f}s: {last}")

    @staticmethod
    def _wait(child: ChildProcess, port: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.running():
                return False
            if wait_for_port("127.0.0.1", port, 0.5):
                return True
        return False

    def failed_child(self) -> ChildProcess | None:
        """A child that exited on its own (the stack is then broken)."""
        with self._lock:
            children = list(self.children)
        for child in children:
            if not child.running():
                return child
        return None

    def stop(self) -> None:
        """Stop in reverse start order: API, worker, SMTP sink, emulator, Temporal, PostgreSQL."""
        remove_state(self.settings.data_dir)
        with self._lock:
            children = list(reversed(self.children))
            self.children.clear()
        for child in children:
            self.sink("tenure", f"stopping {child.name}")
            child.stop()
        if self.temporal is not None:
            self.sink("tenure", "stopping temporal")
            self.temporal.stop()
            self.temporal = None
        if self.postgres is not None:
            self.sink("tenure", "stopping postgres")
            self.postgres.stop()
            self.postgres = None

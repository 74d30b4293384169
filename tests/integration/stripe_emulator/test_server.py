"""Running the emulator: background server, ``python -m``, health and reset."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import stripe

from devstack.stripe_emulator.server import EmulatorServer
from devstack.stripe_emulator.settings import EmulatorSettings

REPO = Path(__file__).resolve().parents[3]


def test_health(control: httpx.Client) -> None:
    assert control.get("/_emulator/health").json() == {"status": "ok", "api_version": "2026-10-28.endive"}


def test_reset_clears_objects(client: stripe.StripeClient, control: httpx.Client) -> None:
    cus = client.v1.customers.create({"email": "r@x.test"})
    control.post("/_emulator/reset").raise_for_status()
    assert client.v1.customers.list().data == []
    assert client.v1.events.list().data == []
    # The request log restarts too: only the two GETs above are in it.
    log = control.get("/_emulator/requests").json()["data"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("GET", "/v1/customers", 200),
        ("GET", "/v1/events", 200),
    ]
    assert cus.id.startswith("cus_")


def test_second_server_with_public_url_and_own_state(client: stripe.StripeClient) -> None:
    settings = EmulatorSettings(public_url="https://billing.example.test/", invoice_number_prefix="TST")
    with EmulatorServer(settings) as other:
        assert other.url.startswith("http://127.0.0.1:")
        c = stripe.StripeClient("sk_test_x", base_addresses={"api": other.url})
        cus = c.v1.customers.create({"email": "o@x.test"})
        inv = c.v1.invoices.create({"customer": cus.id})
        final = c.v1.invoices.finalize_invoice(inv.id)
        assert final.number == "TST-000001"
        assert final.hosted_invoice_url == f"https://billing.example.test/hosted/invoices/{inv.id}"
    # The session emulator never saw that customer.
    assert client.v1.customers.list().data == []


def test_module_entry_point_serves_and_reports_taken_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "devstack.stripe_emulator", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "emulator did not come up"
            assert proc.poll() is None, "emulator exited early"
            time.sleep(0.05)
        taken = subprocess.run(
            [sys.executable, "-m", "devstack.stripe_emulator", "--port", str(port)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert taken.returncode == 2
        lines = taken.stderr.strip().splitlines()
        assert len(lines) == 1
        assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_child_process_does_not_keep_a_stopped_server_listening() -> None:
    # The Temporal test server is spawned without closing inherited descriptors: had the
    # listening socket been inheritable, the stopped port would still accept connections
    # that nobody answers, and a client would wait forever instead of being refused.
    server = EmulatorServer()
    server.start()
    port = server.port
    child = subprocess.Popen(["sleep", "30"], close_fds=False)
    try:
        server.stop()
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex(("127.0.0.1", port)) != 0, "the stopped port still accepts"
    finally:
        child.kill()
        child.wait()

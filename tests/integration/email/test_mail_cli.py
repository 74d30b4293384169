"""`tenure mail list|show` over the files the sink stored (the real command, in a process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from devstack.smtp_sink import SmtpSink
from tests.integration.email.support import enqueue, relay
from tests.integration.workspace_support import new_workspace_id

ROOT = Path(__file__).resolve().parents[3]


def _tenure(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "cli.main", "mail", *args]
    env = {**os.environ, "COLUMNS": "200"}  # a table as wide as its rows
    return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_list_and_show_read_the_sinks_files(engine: AsyncEngine, smtp_sink: SmtpSink) -> None:
    ws = new_workspace_id()
    await enqueue(engine, ws, "invoice_overdue", {"number": "INV-0042"}, key=f"{ws}|overdue")
    await enqueue(engine, ws, "trial_expired", key=f"{ws}|expired")
    assert (await relay(engine, smtp_sink).drain()).sent == 2
    folder = str(smtp_sink.mailbox.directory)

    listed = _tenure("list", "--dir", folder, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["to"], r["subject"]) for r in rows] == [
        (["billing@example.com"], "Invoice INV-0042 is overdue"),
        (["billing@example.com"], "Your trial has ended"),
    ]
    table = _tenure("list", "--dir", folder)
    assert "Invoice INV-0042 is overdue" in table.stdout

    shown = _tenure("show", rows[0]["id"][:20], "--dir", folder)
    assert shown.returncode == 0, shown.stderr
    assert "Subject: Invoice INV-0042 is overdue" in shown.stdout
    assert f"Message-ID: {rows[0]['message_id']}" in shown.stdout
    assert "Invoice INV-0042 is overdue: your subscription is past due" in shown.stdout
    as_json = json.loads(_tenure("show", "2", "--dir", folder, "--json").stdout)
    assert as_json["subject"] == "Your trial has ended"
    assert "<!DOCTYPE html>" in as_json["html"]

    missing = _tenure("show", "nope", "--dir", folder)
    assert missing.returncode == 1
    assert "no single e-mail matches 'nope'" in missing.stderr + missing.stdout

"""Histories hold no personal data in clear: a subscription with members' e-mails and a
cancellation reason runs through encrypting clients and workers; the plain Temporal CLI
shows only ciphertext, while the codec server (over real HTTP, also as the CLI's
``--codec-endpoint``) reads every payload back. Keys rotate mid-life: payloads written with
the old key still decode after the new one became active."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from billing import AssignSeat, Cancel
from billing.workspace import Member
from config.codec import ENCODING, EncryptionCodec, generate_key, parse_keys
from config.settings import Settings
from config.temporal import data_converter_for
from contracts.workspace import DataSourceSetup, WorkspaceSetup
from db.engine import session_factory
from db.tokens import issue
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import BackgroundServer
from devstack.temporal import temporal_binary
from devstack.timeskip import time_skipping_server
from tests.workflows.conftest import stripe_queue
from tests.workflows.driver import Driver, request_id
from tests.workflows.payments import Payments
from worker.composition import WorkerLimits, build_workers

OLD, NEW = generate_key("old"), generate_key("new")


class Rotatable(PayloadCodec):
    """The real codec behind a switch: every client and worker of the test changes keys at
    once, as a deployment does when it restarts with the new key first."""

    def __init__(self, keys: str) -> None:
        self.codec = EncryptionCodec(parse_keys(keys))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.codec.encode(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return await self.codec.decode(payloads)


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def codec() -> Rotatable:
    return Rotatable(OLD)


@pytest.fixture(scope="module")
async def encrypted(codec: Rotatable) -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server whose client (and so its workers) encrypts."""
    converter = dataclasses.replace(data_converter_for(parse_keys(OLD)), payload_codec=codec)
    async with time_skipping_server(converter) as env:
        yield env


def _workers(env: WorkflowEnvironment, engine: AsyncEngine, payments: Payments, queue: str) -> list[Worker]:
    # No workflow cache: every workflow task replays the whole history, so after the rotation
    # each one decodes what the old key wrote (restarting workers in-process instead leaves
    # a stale poll on the time-skipping server that swallows the next task).
    return build_workers(
        env.client,
        engine,
        payments.gateway(),
        task_queue=queue,
        stripe_task_queue=stripe_queue(queue),
        limits=WorkerLimits(max_cached_workflows=0),
    )


def _cli(address: str, workflow_id: str, run_id: str | None, *codec: str) -> str:
    """`temporal workflow show --output json` of one run, as an operator would type it."""
    argv = [temporal_binary(), "workflow", "show", "--workflow-id", workflow_id]
    argv += ["--run-id", run_id] if run_id else []
    argv += ["--address", address, "--namespace", "default", "--output", "json", *codec]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _runs(address: str, workflow_id: str, run_id: str | None, *codec: str) -> list[str]:
    """The histories of ``run_id`` and of every run it continued as (the subscription
    continues as new when it reverts)."""
    shown: list[str] = []
    while True:
        shown.append(_cli(address, workflow_id, run_id, *codec))
        last = json.loads(shown[-1])["events"][-1]
        run_id = last.get("workflowExecutionContinuedAsNewEventAttributes", {}).get("newExecutionRunId")
        if not run_id:
            return shown


# Written in clear by design: search attributes (Temporal indexes them; ours hold no personal
# data), and the SDK's own marker bookkeeping (patch ids; a local activity's seq, attempt and
# type, whose result is a payload of ours and is encrypted).
_CLEAR_BY_DESIGN = {"searchAttributes", "patch-data", "data"}


def _payloads(node: Any, parent: str = "") -> Iterator[dict[str, Any]]:
    """Every payload (``{"metadata": ..., "data": ...}``) of ours in a history's JSON."""
    if isinstance(node, dict):
        if isinstance(node.get("metadata"), dict) and "encoding" in node["metadata"]:
            yield node
            return
        for key, value in node.items():
            marker = parent == "details" and key in _CLEAR_BY_DESIGN
            if not marker and key != "searchAttributes":
                yield from _payloads(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _payloads(value, parent)


def _clear_text(payloads: list[dict[str, Any]]) -> str:
    return "\n".join(base64.b64decode(p.get("data", "")).decode("utf-8", "replace") for p in payloads)


def _setup(ws: str, tag: str) -> WorkspaceSetup:
    return WorkspaceSetup(
        workspace_id=ws,
        billing_contact_email=f"ap-{tag}@acme.test",
        members=[
            Member(
                user_id="alice",
                role="admin",
                role_granted_at=_t("2026-01-05T00:00:00"),
                email=f"alice-{tag}@acme.test",
            ),
            Member(
                user_id="bob",
                role="member",
                role_granted_at=_t("2026-02-01T00:00:00"),
                email=f"bob-{tag}@acme.test",
            ),
        ],
        data_sources=[DataSourceSetup(id="handbook", bytes=80_000_000)],
    )


@pytest.mark.timeout(300)
async def test_the_history_shows_ciphertext_and_the_codec_server_reads_it(
    encrypted: WorkflowEnvironment,
    codec: Rotatable,
    migrated_engine: AsyncEngine,
    payments: Payments,
    postgres: EmbeddedPostgres,
) -> None:
    tag = uuid.uuid4().hex[:8]
    ws, reason = f"codec-{tag}", f"moving to a competitor {tag}"
    personal = [reason, f"alice-{tag}@acme.test", f"bob-{tag}@acme.test", f"ap-{tag}@acme.test"]
    queue = f"codec-{tag}"
    driver = Driver(encrypted, migrated_engine, queue, payments=payments)

    main, stripe_side = _workers(encrypted, migrated_engine, payments, queue)
    async with main, stripe_side:
        await driver.start(_setup(ws, tag), "seats", _t("2026-09-03T09:00:00"))  # the old key
        await driver.update(AssignSeat(request_id=request_id(), actor="alice", user="alice", seat_type="pro"))
        await driver.advance_to(_t("2026-09-03T12:00:00"))
        assert await driver.pay_all()
        codec.codec = EncryptionCodec(parse_keys(f"{NEW},{OLD}"))  # rotated: new key first, old kept
        await driver.advance_to(_t("2026-09-10T00:00:00"))
        await driver.update(Cancel(request_id=request_id(), actor="alice", reason=reason))
        await driver.advance_to(_t("2026-10-03T06:00:00"))  # the period ends: revert to free
        assert (await driver.overview()).status == "free"
        handles = await driver.workflow_handles()
        for handle in handles:
            with contextlib.suppress(RPCError):  # an invoice's workflow may have completed
                await encrypted.client.get_workflow_handle(handle.id).terminate("test finished")

    address = encrypted.client.service_client.config.target_host
    shown = [
        text
        for h in handles
        for text in await asyncio.to_thread(_runs, address, h.id, h.first_execution_run_id)
    ]
    assert len(shown) > len(handles)  # the subscription's runs before and after its revert
    everything = "\n".join(shown)
    assert not [s for s in personal if s in everything], "personal data in clear in a history"
    payloads = [p for text in shown for p in _payloads(json.loads(text))]
    encodings = {base64.b64decode(p["metadata"]["encoding"]) for p in payloads}
    assert encodings == {ENCODING}, encodings  # every payload, not only the sensitive ones
    key_ids = {base64.b64decode(p["metadata"]["encryption-key-id"]).decode() for p in payloads}
    assert key_ids == {"old", "new"}

    async with session_factory(migrated_engine)() as session:
        staff = await session.run_sync(lambda s: issue(s, "codec story", "staff"))
        await session.commit()
    settings = Settings(database_url=postgres.url, payload_keys=SecretStr(f"{NEW},{OLD}"))
    server = BackgroundServer(create_app(settings))
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            answer = await http.post(
                "/codec/decode",
                json={"payloads": payloads},
                headers={"Authorization": f"Bearer {staff.secret}", "X-Namespace": "default"},
            )
        assert answer.status_code == 200, answer.text
        assert [s for s in personal if s not in _clear_text(answer.json()["payloads"])] == []
        # The Temporal CLI speaks the same codec protocol as the Web UI.
        auth = ["--codec-endpoint", f"{server.url}/codec", "--codec-auth", f"Bearer {staff.secret}"]
        first = handles[0]
        decoded = await asyncio.to_thread(_runs, address, first.id, first.first_execution_run_id, *auth)
        through_cli = [p for text in decoded for p in _payloads(json.loads(text))]
        assert ENCODING not in {base64.b64decode(p["metadata"]["encoding"]) for p in through_cli}
        assert reason in _clear_text(through_cli)
    finally:
        await asyncio.to_thread(server.stop)

"""Encrypted payloads: the AES-256-GCM codec (rotation, unknown keys, pass-through, tampering),
its keys from settings, and the codec server of the Web UI over real HTTP (tokens, CORS,
bad requests); the dev server's UI pointed at it."""

from __future__ import annotations

import asyncio
import base64
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from config.codec import (
    ENCODING,
    EncryptionCodec,
    PayloadDecodeError,
    PayloadKeyError,
    ensure_key_file,
    generate_key,
    parse_keys,
)
from config.settings import Settings
from config.temporal import data_converter, payload_keys
from db.engine import session_factory
from db.tokens import issue
from devstack.ports import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.stripe_emulator.server import BackgroundServer
from devstack.temporal import TemporalDevServer

OLD, NEW, GONE = generate_key("old"), generate_key("new"), generate_key("gone")
UI = "http://ui.test:8233"
SECRET = "member alice@acme.test cancelled: too expensive"


def _quiet(name: str, line: str) -> None:
    """The dev server's log is noise unless it fails to start."""


def _plain(text: str = SECRET) -> Payload:
    [payload] = pydantic_data_converter.payload_converter.to_payloads([text])
    return payload


async def _sealed(keys: str, text: str = SECRET) -> Payload:
    [payload] = await EncryptionCodec(parse_keys(keys)).encode([_plain(text)])
    return payload


# --- the codec ----------------------------------------------------------------------------


async def test_a_payload_written_with_an_old_key_decodes_after_rotation() -> None:
    before = await _sealed(OLD)
    assert before.metadata["encoding"] == ENCODING
    assert before.metadata["encryption-key-id"] == b"old"
    assert SECRET.encode() not in before.data
    rotated = EncryptionCodec(parse_keys(f"{NEW},{OLD}"))  # new key active, old one kept
    assert rotated.key_ids == ("new", "old")
    [clear] = await rotated.decode([before])
    assert clear == _plain()
    [after] = await rotated.encode([_plain()])
    assert after.metadata["encryption-key-id"] == b"new"
    # Once the old key is dropped, what it wrote is unreadable, and says which key it needs.
    with pytest.raises(PayloadDecodeError, match="'old', which is not configured") as refused:
        await EncryptionCodec(parse_keys(NEW)).decode([before])
    assert refused.value.key_id == "old"


async def test_payloads_written_before_encryption_pass_through() -> None:
    codec = EncryptionCodec(parse_keys(NEW))
    plain = _plain()
    assert await codec.decode([plain]) == [plain]


async def test_each_payload_gets_its_own_nonce_and_altered_data_fails() -> None:
    first, second = await _sealed(NEW), await _sealed(NEW)
    assert first.data != second.data
    altered = Payload(metadata=first.metadata, data=first.data[:-1] + bytes([first.data[-1] ^ 1]))
    codec = EncryptionCodec(parse_keys(NEW))
    with pytest.raises(PayloadDecodeError, match="does not decrypt"):
        await codec.decode([altered])
    other_key_same_id = EncryptionCodec(parse_keys(generate_key("new")))
    with pytest.raises(PayloadDecodeError, match="does not decrypt"):
        await other_key_same_id.decode([first])
    with pytest.raises(PayloadDecodeError, match="truncated"):
        await codec.decode([Payload(metadata=first.metadata, data=b"short")])


async def test_the_data_converter_encrypts_values_and_failure_messages() -> None:
    converter = data_converter(Settings(payload_keys=SecretStr(NEW)))
    [payload] = await converter.encode([{"email": "alice@acme.test"}])
    assert b"alice" not in payload.SerializeToString()
    assert await converter.decode([payload]) == [{"email": "alice@acme.test"}]
    assert data_converter(Settings()) is pydantic_data_converter  # no key: nothing changes


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("nocolon", "written `id:base64key`"),
        ("bad id:AAAA", "written `id:base64key`"),
        ("k1:not base64!", "not valid base64"),
        ("k1:" + base64.b64encode(b"x" * 16).decode(), "16 bytes; AES-256 needs 32"),
        (f"{NEW},{NEW}", "listed twice"),
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str, error: str) -> None:
    with pytest.raises(PayloadKeyError, match=error) as refused:
        parse_keys(text)
    secret = text.partition(":")[2].partition(",")[0]
    assert len(secret) < 8 or secret not in str(refused.value)


def test_keys_come_from_the_setting_or_a_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# rotated today\n{NEW}\n{OLD}\n")
    assert [k.key_id for k in payload_keys(Settings(payload_keys_file=keys_file))] == ["new", "old"]
    listed = Settings(payload_keys=SecretStr(f"{OLD}, {NEW}"))
    assert [k.key_id for k in payload_keys(listed)] == ["old", "new"]
    with pytest.raises(PayloadKeyError, match="not both"):
        payload_keys(Settings(payload_keys=SecretStr(NEW), payload_keys_file=keys_file))
    with pytest.raises(PayloadKeyError, match="No such file"):
        payload_keys(Settings(payload_keys_file=tmp_path / "missing"))


def test_the_dev_key_is_made_once_and_private(tmp_path: Path) -> None:
    path = ensure_key_file(tmp_path / ".tenure" / "payload-keys")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert len(parse_keys(first)) == 1
    assert ensure_key_file(path).read_text() == first  # reused: old histories stay readable


# --- the codec server over HTTP -----------------------------------------------------------


@dataclass(frozen=True)
class CodecServer:
    url: str
    staff: str
    service: str


def _settings(postgres: EmbeddedPostgres, **extra: object) -> Settings:
    return Settings(
        database_url=postgres.url,
        payload_keys=SecretStr(f"{NEW},{OLD}"),
        codec_cors_origins=f"{UI},http://other-ui.test",
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
async def codec_server(
    postgres: EmbeddedPostgres, migrated_engine: AsyncEngine
) -> AsyncIterator[CodecServer]:
    async with session_factory(migrated_engine)() as session:
        staff = await session.run_sync(lambda s: issue(s, "codec desk", "staff"))
        service = await session.run_sync(lambda s: issue(s, "codec service", "service"))
        await session.commit()
    server = BackgroundServer(create_app(_settings(postgres)))
    await asyncio.to_thread(server.start)
    try:
        yield CodecServer(server.url, staff.secret, service.secret)
    finally:
        await asyncio.to_thread(server.stop)


def _json(payload: Payload) -> dict[str, object]:
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }


def _proto(item: dict[str, object]) -> Payload:
    metadata = item["metadata"]
    assert isinstance(metadata, dict)
    return Payload(
        metadata={k: base64.b64decode(v) for k, v in metadata.items()},
        data=base64.b64decode(str(item["data"])),
    )


async def _post(
    server: CodecServer, path: str, body: object, token: str | None = None, **headers: str
) -> httpx.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        return await http.post(path, json=body, headers=headers)


async def test_the_codec_server_decodes_old_and_new_keys_and_passes_plain_through(
    codec_server: CodecServer,
) -> None:
    sealed = [await _sealed(OLD, "old secret"), await _sealed(NEW, "new secret"), _plain("in clear")]
    answer = await _post(
        codec_server,
        "/codec/decode",
        {"payloads": [_json(p) for p in sealed]},
        codec_server.staff,
        **{"X-Namespace": "default", "Origin": UI},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == UI
    decoded = [_proto(p) for p in answer.json()["payloads"]]
    assert decoded == [_plain("old secret"), _plain("new secret"), _plain("in clear")]


async def test_no_payloads_is_an_empty_answer(codec_server: CodecServer) -> None:
    # Protobuf JSON leaves an empty list out: the Temporal CLI sends `{}`.
    for path in ("/codec/decode", "/codec/encode"):
        answer = await _post(codec_server, path, {}, codec_server.staff)
        assert (answer.status_code, answer.json()) == (200, {"payloads": []})


async def test_the_codec_server_encodes_with_the_active_key(codec_server: CodecServer) -> None:
    answer = await _post(codec_server, "/codec/encode", {"payloads": [_json(_plain())]}, codec_server.staff)
    assert answer.status_code == 200, answer.text
    [item] = answer.json()["payloads"]
    encoded = _proto(item)
    assert encoded.metadata["encryption-key-id"] == b"new"
    assert await EncryptionCodec(parse_keys(NEW)).decode([encoded]) == [_plain()]


async def test_the_web_ui_origin_passes_the_cors_preflight(codec_server: CodecServer) -> None:
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with httpx.AsyncClient(base_url=codec_server.url, timeout=30) as http:
        allowed = await http.options("/codec/decode", headers={"Origin": UI, **asked})
        stranger = await http.options("/codec/decode", headers={"Origin": "http://evil.test", **asked})
        elsewhere = await http.options("/v1/events", headers={"Origin": UI, **asked})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in allowed.headers["access-control-allow-headers"].lower()
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    assert "access-control-allow-origin" not in elsewhere.headers  # no other endpoint is for browsers


async def test_bad_codec_requests_are_refused_with_4xx(codec_server: CodecServer) -> None:
    one = {"payloads": [_json(await _sealed(OLD))]}
    s = codec_server
    refused = {
        "no token": await _post(s, "/codec/decode", one, Origin=UI),
        "service token": await _post(s, "/codec/decode", one, s.service),
        "other namespace": await _post(s, "/codec/decode", one, s.staff, **{"X-Namespace": "prod-eu"}),
        "not a list": await _post(s, "/codec/decode", {"payloads": "all"}, s.staff),
        "not base64": await _post(s, "/codec/decode", {"payloads": [{"data": "%%%"}]}, s.staff),
        "unknown field": await _post(s, "/codec/encode", {"payloads": [{"dat": ""}]}, s.staff),
        "unknown key": await _post(s, "/codec/decode", {"payloads": [_json(await _sealed(GONE))]}, s.staff),
    }
    statuses = {name: r.status_code for name, r in refused.items()}
    assert statuses == {
        "no token": 401,
        "service token": 403,
        "other namespace": 403,
        "not a list": 422,
        "not base64": 422,
        "unknown field": 422,
        "unknown key": 422,
    }
    for answer in refused.values():
        assert set(answer.json()) == {"code", "message", "details"}
    # The browser may read the refusal (CORS on errors too), and the key it lacks is named.
    assert refused["no token"].headers["access-control-allow-origin"] == UI
    [problem] = refused["unknown key"].json()["details"]["errors"]
    assert problem["field"] == "body.payloads.0.metadata.encryption-key-id"
    assert "'gone'" in problem["reason"]


async def test_without_keys_the_codec_server_is_the_identity_and_can_be_open(
    postgres: EmbeddedPostgres,
) -> None:
    app = create_app(Settings(database_url=postgres.url, codec_auth="none"))
    server = BackgroundServer(app)
    await asyncio.to_thread(server.start)
    try:
        target = CodecServer(server.url, "", "")
        plain = {"payloads": [_json(_plain())]}
        encoded = await _post(target, "/codec/encode", plain)
        assert (encoded.status_code, encoded.json()) == (200, plain)
        sealed = await _post(target, "/codec/decode", {"payloads": [_json(await _sealed(NEW))]})
        assert sealed.status_code == 422
        assert "holds no payload keys" in sealed.text
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_dev_servers_web_ui_is_pointed_at_the_codec_server(tmp_path: Path) -> None:
    endpoint = "http://127.0.0.1:8000/codec"
    ui_port = free_port()
    server = TemporalDevServer(tmp_path, free_port(), ui_port, _quiet, codec_endpoint=endpoint)
    await asyncio.to_thread(server.start)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            settings = (await http.get(f"http://127.0.0.1:{ui_port}/api/v1/settings")).json()
    finally:
        await asyncio.to_thread(server.stop)
    assert settings["Codec"]["Endpoint"] == endpoint

"""Log lines and the cost of tracing off, without any server."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from api.app import create_app
from config.settings import Settings
from observability import logs, tracing


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])


def _log(settings: Settings) -> str:
    buffer = io.StringIO()
    logs.configure(settings, buffer)
    token = logs.workspace_id.set("acme")
    try:
        logging.getLogger("tenure.test").warning("seat %s assigned", "alice")
        logging.getLogger("tenure.test").debug("not at INFO")
    finally:
        logs.workspace_id.reset(token)
    logging.getLogger("tenure.test").info("outside any workspace")
    return buffer.getvalue()


@pytest.mark.usefixtures("root_restored")
def test_json_is_the_default_one_object_a_line() -> None:
    first, second = (json.loads(line) for line in _log(Settings()).splitlines())
    assert first.keys() >= {"timestamp", "level", "logger", "message", "workspace_id"}
    assert (first["level"], first["logger"], first["message"]) == (
        "WARNING",
        "tenure.test",
        "seat alice assigned",
    )
    assert first["workspace_id"] == "acme"
    assert first["timestamp"].endswith("+00:00")
    assert "workspace_id" not in second
    assert "trace_id" not in first  # tracing is off


@pytest.mark.usefixtures("root_restored")
def test_text_for_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENURE_LOG_FORMAT", "text")
    first, second = _log(Settings()).splitlines()
    assert first.endswith("WARNING tenure.test: seat alice assigned [workspace_id=acme]")
    assert second.endswith("INFO    tenure.test: outside any workspace")
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml")


def test_tracing_is_off_by_default_and_installs_nothing() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    assert settings.otel_exporter_otlp_endpoint is None
    assert tracing.configure(settings) is None
    assert tracing.provider() is None
    assert tracing.interceptors() == []
    app = create_app(settings)
    assert not any("OpenTelemetry" in m.cls.__name__ for m in app.user_middleware)  # type: ignore[attr-defined]
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)

"""Structured logs: one JSON object a line (or text for a terminal) with the ids to grep by.

Every line has ``timestamp``, ``level``, ``logger`` and ``message``; and, when known,
``workspace_id``, ``request_id`` (API), ``workflow_id`` and ``run_id`` (inside Temporal),
``trace_id`` and ``span_id`` (tracing on). The ids come from where the code runs rather
than from each call site: a contextvar the API middleware and the activity interceptor
set, and Temporal's own activity/workflow info.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import IO, Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio import activity, workflow
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from config.settings import Settings
from observability import tracing

workspace_id: ContextVar[str | None] = ContextVar("tenure_workspace_id", default=None)
request_id: ContextVar[str | None] = ContextVar("tenure_request_id", default=None)

# The subscription workflow's id names its workspace (workflows.messages.workflow_id).
_SUBSCRIPTION = "subscription-"
_WORKSPACE_PATH = re.compile(r"^/v1/workspaces/([^/]+)")
# A caller's X-Request-ID is kept only when it is a plain token (it lands in every line).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_FIELDS = ("workspace_id", "request_id", "workflow_id", "run_id", "trace_id", "span_id")


class ContextFilter(logging.Filter):
    """Adds the ids known where the record is made (never overriding an explicit ``extra``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the id attributes of ``record``; always keeps it."""
        found: dict[str, str | None] = {"workspace_id": workspace_id.get(), "request_id": request_id.get()}
        if activity.in_activity():
            info = activity.info()
            found.update(workflow_id=info.workflow_id, run_id=info.workflow_run_id)
        elif workflow.in_workflow():
            winfo = workflow.info()
            found.update(workflow_id=winfo.workflow_id, run_id=winfo.run_id)
        wid = found.get("workflow_id")
        if found["workspace_id"] is None and wid is not None and wid.startswith(_SUBSCRIPTION):
            found["workspace_id"] = wid.removeprefix(_SUBSCRIPTION)
        ids = tracing.current_ids() if tracing.provider() is not None else None
        if ids is not None:
            found.update(trace_id=ids[0], span_id=ids[1])
        for name, value in found.items():
            if value is not None and getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [workspace_id=... request_id=...]`` for a person."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The line, with the known ids appended."""
        ids = " ".join(f"{f}={getattr(record, f)}" for f in _FIELDS[:4] if getattr(record, f, None))
        line = super().format(record)
        return f"{line} [{ids}]" if ids else line


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``json`` or ``text``)."""
    if log_format == "text":
        return TextFormatter()
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC, from the record's creation time
        # uvicorn's copy of each message with terminal colour codes: noise in a JSON line.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log of the process to ``stream`` (stderr) in ``settings.log_format``.

    Replaces the root logger's handlers, so calling it twice (tests) does not double lines.

    Returns:
        The handler installed on the root logger.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    return handler


class RequestContext:
    """ASGI middleware: a request id (the caller's ``X-Request-ID`` or a new one) and the
    path's workspace in every log line of the request, and one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("tenure.api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request inside its log context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        match = _WORKSPACE_PATH.match(scope["path"])
        tokens = (request_id.set(rid), workspace_id.set(match.group(1) if match else None))
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "duration_ms": round(elapsed, 2)},
            )
            request_id.reset(tokens[0])
            workspace_id.reset(tokens[1])


class LogContextInterceptor(Interceptor):
    """Worker interceptor: the workspace an activity works for is in each of its log lines,
    and each activity ends with a DEBUG line (name, outcome, duration)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap every activity."""
        return _ActivityContext(next)


class _ActivityContext(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        token = workspace_id.set(_workspace_of(input.args))
        log = logging.getLogger("tenure.activity")
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await super().execute_activity(input)
            outcome = "completed"
            return result
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log.debug(
                "activity %s %s in %.1f ms",
                activity.info().activity_type,
                outcome,
                elapsed,
                extra={"activity": activity.info().activity_type, "duration_ms": round(elapsed, 2)},
            )
            workspace_id.reset(token)


def _workspace_of(args: Any) -> str | None:
    """The ``workspace_id`` of an activity's first argument (a record, a plan), if it has one."""
    if args:
        value = getattr(args[0], "workspace_id", None)
        if isinstance(value, str):
            return value
    return None

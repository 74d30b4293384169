"""OpenTelemetry traces: one trace from an HTTP command through Temporal to the Stripe calls.

Off unless ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. The provider is held here rather than only
as OpenTelemetry's global one so that tests can install an in-memory one per module (the
global can be set once per process) and so that "off" is checked with one ``None`` test:
no interceptor, no instrumentation, nothing on the hot paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from config.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy.ext.asyncio import AsyncEngine
    from temporalio.client import Interceptor

_provider: TracerProvider | None = None


def configure(settings: Settings) -> TracerProvider | None:
    """Install an OTLP/HTTP exporting provider when an endpoint is set (process start).

    Args:
        settings: the process settings (``otel_*``).

    Returns:
        The provider, or None when tracing is off (no endpoint).
    """
    if settings.otel_exporter_otlp_endpoint is None:
        return None
    # Imported here: the exporter pulls protobuf and requests, which an untraced process skips.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: settings.otel_service_name}),
        # Parent-based: a trace the API sampled is kept whole through the workers.
        sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
    )
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)  # for libraries that trace through the global API
    install(provider)
    return provider


def install(provider: TracerProvider | None) -> None:
    """Make ``provider`` the one Tenure traces with (None: tracing off); tests give their own."""
    global _provider
    _provider = provider


def provider() -> TracerProvider | None:
    """The installed provider, None when tracing is off."""
    return _provider


def interceptors() -> list[Interceptor]:
    """Temporal's tracing interceptor when tracing is on, else nothing.

    Given to the client only: the workers built on that client inherit it (given to both,
    every span would be made twice). Its workflow side runs outside the sandbox through
    extern functions, so the sandbox needs no OpenTelemetry pass-through.
    """
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(_provider.get_tracer("tenure.temporal"))]


def instrument_app(app: FastAPI) -> None:
    """Server spans for every HTTP request (W3C ``traceparent`` continues a caller's trace)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider, excluded_urls="/healthz,/metrics")


def instrument_engine(engine: AsyncEngine) -> None:
    """A span per SQL statement on ``engine`` (its statement, never its parameters).

    `EngineTracer` on this one engine rather than `SQLAlchemyInstrumentor().instrument()`:
    that one is a process-wide singleton that also patches ``create_engine`` everywhere and
    ignores every engine after the first.
    """
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    usage = NoOpMeter("tenure.sqlalchemy").create_up_down_counter("db.client.connections.usage")
    EngineTracer(_provider.get_tracer("tenure.sqlalchemy"), engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids in hex (for log lines), None outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"

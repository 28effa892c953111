"""Podium's own traces: a per-platform OpenTelemetry TracerProvider.

No global state: :func:`make_tracer_provider` never installs its provider as
the process-wide default, so several platforms in one process trace separately.
Only the platform imports this module (the OpenTelemetry SDK comes with it);
``import podium`` and the plugin manager without a tracer never do.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from podium.security.secret import REDACTED, Secret

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider

OTLP_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def make_tracer_provider(
    service_name: str = "podium",
    jsonl_path: Path | str | None = None,
    console: bool = False,
    otlp: bool | None = None,
    *,
    resource_attributes: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    create_jsonl_dir: bool = True,
) -> TracerProvider | None:
    """A TracerProvider exporting to the chosen places, or ``None`` when none is chosen.

    Every ``OTEL_*`` setting is read from ``environ`` (default ``os.environ``), never
    from the process behind the caller's back: ``otlp=None`` means "when
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set there"; the OTLP exporter's endpoint,
    headers, timeout, compression and certificates, ``OTEL_RESOURCE_ATTRIBUTES``,
    ``OTEL_TRACES_SAMPLER(_ARG)``, ``OTEL_BSP_*`` and the span limits come from it too.
    The provider registers no exit hook: call its ``shutdown()`` (``Platform.close()``
    does) to flush. ``create_jsonl_dir=False``: spans are written only once
    ``jsonl_path``'s directory exists (a platform's spans live in its state directory,
    which telemetry never creates by itself).
    """
    env = os.environ if environ is None else environ
    if otlp is None:
        otlp = any(env.get(name) for name in OTLP_ENDPOINT_VARIABLES)
    if jsonl_path is None and not console and not otlp:
        return None

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from podium.observability.otel_environ import batch_processor, resource, sampler, span_limits

    provider = TracerProvider(
        sampler=sampler(env),
        resource=resource(service_name, env, resource_attributes or {}),
        span_limits=span_limits(env),
        shutdown_on_exit=False,  # no atexit hook per platform: close() flushes
    )
    # The SDK reads OTEL_SDK_DISABLED from the process; only ``environ`` may disable it.
    if hasattr(provider, "_disabled"):
        provider._disabled = (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true"
    if jsonl_path is not None:
        exporter = JsonlSpanExporter(jsonl_path, create_parent=create_jsonl_dir)
        provider.add_span_processor(batch_processor(exporter, env))
    if console:
        provider.add_span_processor(SimpleSpanProcessor(JsonlSpanExporter(stream=sys.stderr)))
    if otlp:
        try:
            import opentelemetry.exporter.otlp.proto.common.trace_encoder  # noqa: F401
        except ImportError:
            from podium.errors import ConfigError

            raise ConfigError(
                "OTLP export needs the optional OTLP exporter",
                field="telemetry.otlp",
                hint="pip install 'podium[otlp]'",
            ) from None
        from podium.observability.otlp import OtlpHttpSpanExporter, OtlpSettings

        otlp_exporter = OtlpHttpSpanExporter(OtlpSettings.from_environ(env))
        provider.add_span_processor(batch_processor(otlp_exporter, env))
    return provider


def is_recording(tracer_provider: Any) -> bool:
    """Whether spans from this provider go anywhere (a no-op or proxy provider: no)."""
    if tracer_provider is None:
        return False
    from opentelemetry import trace

    if isinstance(tracer_provider, trace.NoOpTracerProvider | trace.ProxyTracerProvider):
        return False
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
    except ImportError:  # pragma: no cover - the SDK is a dependency
        return True
    if isinstance(tracer_provider, TracerProvider):
        return tracer_provider.sampler is not ALWAYS_OFF
    return True


def safe_attribute(value: Any) -> Any:
    """A span attribute value that can never carry a secret's plaintext."""
    if isinstance(value, Secret):
        return REDACTED
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [str(safe_attribute(v)) for v in value]
    return str(value)


def safe_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_attribute(v) for k, v in attributes.items() if v is not None}


def span_to_dict(span: ReadableSpan) -> dict[str, Any]:
    """One finished span as a JSON-ready dict (ids in hex, times in ns since the epoch)."""
    context = span.context
    parent = span.parent
    start = span.start_time or 0
    end = span.end_time or start
    return {
        "name": span.name,
        "trace_id": f"{context.trace_id:032x}" if context else None,
        "span_id": f"{context.span_id:016x}" if context else None,
        "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
        "duration_ms": round((end - start) / 1e6, 3),
        "status": span.status.status_code.name,
        "status_message": span.status.description,
        "attributes": safe_attributes(dict(span.attributes or {})),
        "events": [
            {"name": e.name, "attributes": safe_attributes(dict(e.attributes or {}))}
            for e in span.events
        ],
        "resource": safe_attributes(dict(span.resource.attributes)),
    }


class JsonlSpanExporter(SpanExporter):
    """Writes one JSON object per finished span, to a file (appending) or a stream.

    The file is created private (0600, its directory 0700). With
    ``create_parent=False`` spans are dropped until the file's directory exists.
    """

    def __init__(
        self, path: Path | str | None = None, *, stream: Any = None, create_parent: bool = True
    ) -> None:
        if (path is None) == (stream is None):
            raise ValueError("give exactly one of path or stream")
        self.path = Path(path) if path is not None else None
        self._create_parent = create_parent
        self._stream = stream
        self._lock = threading.Lock()
        self._closed = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        lines = "".join(json.dumps(span_to_dict(s), default=str) + "\n" for s in spans)
        try:
            with self._lock:
                if self.path is not None:
                    if not self._create_parent and not self.path.parent.is_dir():
                        return SpanExportResult.SUCCESS
                    from podium.security.private_files import open_private_append

                    # Spans name workloads, resources and errors: private like the state.
                    with open_private_append(self.path) as handle:
                        handle.write(lines)
                else:
                    self._stream.write(lines)
                    self._stream.flush()
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._closed = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def read_spans(path: Path | str) -> list[dict[str, Any]]:
    """Read a JSONL span file back (for tests and ``podium`` diagnostics)."""
    text = Path(path).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]

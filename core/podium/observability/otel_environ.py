"""OpenTelemetry SDK settings read from a mapping instead of the process environment.

Each SDK component falls back to ``os.environ`` for any argument left ``None``; these
helpers give every argument explicitly, from the platform's ``environ``, so a host's
``OTEL_*`` variables steer a platform only when the host passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

#: Variables that turn Podium's metrics export on (read without importing the SDK).
METRIC_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")

_SPAN_COUNT_DEFAULT = 128


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    try:
        return int(environ.get(name) or default)
    except ValueError:
        return default


def resource(service_name: str, environ: Mapping[str, str], extra: Mapping[str, str]) -> Any:
    """SDK attributes, then ``OTEL_RESOURCE_ATTRIBUTES``, then ``service.name``, then ``extra``."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.version import __version__ as sdk_version

    attributes: dict[str, str] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
    }
    for item in (environ.get("OTEL_RESOURCE_ATTRIBUTES") or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            attributes[unquote(key.strip())] = unquote(value.strip())
    attributes["service.name"] = service_name
    attributes.update(extra)
    return Resource(attributes)


def sampler(environ: Mapping[str, str]) -> Any:
    """``OTEL_TRACES_SAMPLER`` (the SDK's built-in names), default ``parentbased_always_on``."""
    from opentelemetry.sdk.trace import sampling

    name = (environ.get("OTEL_TRACES_SAMPLER") or "parentbased_always_on").strip().lower()
    try:
        ratio = float(environ.get("OTEL_TRACES_SAMPLER_ARG") or 1.0)
    except ValueError:
        ratio = 1.0
    if name == "always_on":
        return sampling.ALWAYS_ON
    if name == "always_off":
        return sampling.ALWAYS_OFF
    if name == "traceidratio":
        return sampling.TraceIdRatioBased(ratio)
    if name == "parentbased_always_off":
        return sampling.ParentBased(sampling.ALWAYS_OFF)
    if name == "parentbased_traceidratio":
        return sampling.ParentBased(sampling.TraceIdRatioBased(ratio))
    return sampling.ParentBased(sampling.ALWAYS_ON)


def span_limits(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.trace import SpanLimits

    count = _int(environ, "OTEL_ATTRIBUTE_COUNT_LIMIT", _SPAN_COUNT_DEFAULT)
    length = _int(environ, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", SpanLimits.UNSET)
    return SpanLimits(
        max_attributes=count,
        max_span_attributes=_int(environ, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count),
        max_events=_int(environ, "OTEL_SPAN_EVENT_COUNT_LIMIT", _SPAN_COUNT_DEFAULT),
        max_links=_int(environ, "OTEL_SPAN_LINK_COUNT_LIMIT", _SPAN_COUNT_DEFAULT),
        max_event_attributes=_int(environ, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", count),
        max_link_attributes=_int(environ, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", count),
        max_attribute_length=length,
        max_span_attribute_length=_int(environ, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length),
    )


def batch_processor(exporter: Any, environ: Mapping[str, str]) -> Any:
    """A BatchSpanProcessor with ``OTEL_BSP_*`` from ``environ`` (the SDK's defaults otherwise)."""
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    return BatchSpanProcessor(
        exporter,
        max_queue_size=_int(environ, "OTEL_BSP_MAX_QUEUE_SIZE", 2048),
        schedule_delay_millis=_int(environ, "OTEL_BSP_SCHEDULE_DELAY", 5000),
        max_export_batch_size=_int(environ, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512),
        export_timeout_millis=_int(environ, "OTEL_BSP_EXPORT_TIMEOUT", 30000),
    )

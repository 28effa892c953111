"""Podium's own metrics: apply duration, node outcomes and plugin call latency.

One OpenTelemetry ``MeterProvider`` per platform, never the process-wide one: two
platforms in one process measure and export separately, and nothing is installed
globally. Metrics are exported over OTLP/HTTP when OTLP is configured (the same
switch as spans: ``[telemetry] otlp``, else ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` in the platform's ``environ``), every
``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds (default 60000) and when the platform
closes. An embedder may pass its own metric readers instead.

Instruments (attributes in brackets):

* ``podium.apply.duration`` (s, histogram) [``podium.platform``, ``podium.environment``,
  ``podium.operation`` = apply | destroy, ``podium.outcome`` = ok | failed | cancelled];
* ``podium.node.outcomes`` (counter) [``podium.platform``, ``podium.environment``,
  ``podium.node.kind``, ``podium.action``, ``podium.outcome`` = succeeded | failed | skipped];
* ``podium.plugin.call.duration`` (s, histogram) [``podium.plugin``, ``podium.hook``,
  ``podium.outcome`` = ok | error].
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

# Only the platform imports this module, and only when it measures (OTLP or readers).
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

from podium.observability.otel_environ import METRIC_ENDPOINT_VARIABLES
from podium.observability.otlp import OtlpHttpPoster, OtlpSettings

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, MetricsData

    from podium.observability.contract import Event
    from podium.plugins.calls import HookCall


def make_meter_provider(
    service_name: str = "podium",
    *,
    otlp: bool | None = None,
    readers: Sequence[MetricReader] = (),
    environ: Mapping[str, str],
) -> MeterProvider | None:
    """A MeterProvider with the given readers (plus OTLP export), or ``None`` without any."""
    if otlp is None:
        otlp = any(environ.get(name) for name in METRIC_ENDPOINT_VARIABLES)
    if not otlp and not readers:
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    from podium.observability.otel_environ import resource

    all_readers = list(readers)
    if otlp:
        try:
            interval = float(environ.get("OTEL_METRIC_EXPORT_INTERVAL") or 60000)
        except ValueError:
            interval = 60000.0
        all_readers.append(
            PeriodicExportingMetricReader(
                OtlpHttpMetricExporter.from_environ(environ), export_interval_millis=interval
            )
        )
    return MeterProvider(
        metric_readers=all_readers,
        resource=resource(service_name, environ, {}),
        shutdown_on_exit=False,  # no atexit hook per platform: close() flushes
    )


class OtlpHttpMetricExporter(MetricExporter):
    """OTLP/HTTP metric export with every setting from a mapping (see :mod:`.otlp`)."""

    def __init__(self, settings: OtlpSettings) -> None:
        super().__init__()
        self._poster = OtlpHttpPoster(settings)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> OtlpHttpMetricExporter:
        try:
            import opentelemetry.exporter.otlp.proto.common.metrics_encoder  # noqa: F401
        except ImportError:
            from podium.errors import ConfigError

            raise ConfigError(
                "OTLP export needs the optional OTLP exporter",
                field="telemetry.otlp",
                hint="pip install 'podium[otlp]'",
            ) from None
        return cls(OtlpSettings.from_environ(environ, "metrics"))

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **_: Any
    ) -> MetricExportResult:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        ok = self._poster.post(encode_metrics(metrics_data).SerializeToString())
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **_: Any) -> None:
        self._poster.closed = True


_OPERATIONS = {"apply": "apply", "destroy": "destroy"}
_NODE_OUTCOMES = {"node.succeeded": "succeeded", "node.failed": "failed", "node.skipped": "skipped"}


class PodiumMetrics:
    """The platform's instruments, fed by its events and by every plugin call."""

    def __init__(self, provider: MeterProvider, platform: str) -> None:
        from podium.version import __version__

        meter = provider.get_meter("podium", __version__)
        self.platform = platform
        self.apply_duration = meter.create_histogram(
            "podium.apply.duration", unit="s", description="How long an apply or destroy ran"
        )
        self.node_outcomes = meter.create_counter(
            "podium.node.outcomes", description="Nodes applied, by kind, action and outcome"
        )
        self.call_duration = meter.create_histogram(
            "podium.plugin.call.duration", unit="s", description="How long a plugin call ran"
        )
        self._started: dict[tuple[str | None, str], float] = {}
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        """An event subscriber: times operations and counts node outcomes."""
        kind = str(event.kind)
        head, _, tail = kind.partition(".")
        if head in _OPERATIONS and tail in ("started", "finished"):
            key = (event.environment, head)
            with self._lock:
                if tail == "started":
                    self._started[key] = time.monotonic()
                    return
                started = self._started.pop(key, None)
            if started is None:
                return
            data = event.data
            outcome = "cancelled" if data.get("cancelled") else "ok" if data.get("ok") else "failed"
            self.apply_duration.record(
                time.monotonic() - started,
                {
                    "podium.platform": self.platform,
                    "podium.environment": event.environment or "",
                    "podium.operation": head,
                    "podium.outcome": outcome,
                },
            )
        elif kind in _NODE_OUTCOMES:
            # uids: deployment:<w>, observability:<w>, and type.class#... for resources
            prefix = (event.node or "").split(":", 1)[0]
            node_kind = prefix if prefix in ("deployment", "observability") else "resource"
            self.node_outcomes.add(
                1,
                {
                    "podium.platform": self.platform,
                    "podium.environment": event.environment or "",
                    "podium.node.kind": node_kind,
                    "podium.action": str(event.data.get("action", "")),
                    "podium.outcome": _NODE_OUTCOMES[kind],
                },
            )

    def on_call(self, call: HookCall, seconds: float, failed: bool) -> None:
        """A plugin call finished (see :func:`podium.plugins.calls.invoke`)."""
        self.call_duration.record(
            seconds,
            {
                "podium.plugin": call.plugin,
                "podium.hook": call.hook,
                "podium.outcome": "error" if failed else "ok",
            },
        )

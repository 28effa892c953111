"""Observability domain: events, telemetry sinks, monitoring of deployed workloads."""

from podium.observability.contract import Event, EventKind, TelemetryConfig, TelemetrySink

__all__ = ["Event", "EventKind", "TelemetryConfig", "TelemetrySink"]

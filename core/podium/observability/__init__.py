"""Observability domain: events, telemetry sinks, monitoring of deployed workloads."""

from podium.observability.contract import Event, TelemetryConfig, TelemetrySink

__all__ = ["Event", "TelemetryConfig", "TelemetrySink"]

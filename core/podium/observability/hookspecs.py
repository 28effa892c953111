"""Observability hooks: telemetry sinks, the event stream, and monitoring of deployed workloads."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from podium.deployment.contract import DeploymentResult, RenderedWorkload
from podium.observability.contract import Event, TelemetryConfig, TelemetrySink
from podium.platform.context import EnvironmentInfo, PlatformInfo
from podium.plugins.markers import hookspec


@hookspec
def podium_telemetry_sinks(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[TelemetrySink]:
    """Register telemetry sinks (registration hook); ``[telemetry] sinks`` selects them.

    Example::

        class PrintSink(TelemetrySink):
            name = "print"

            def emit(self, event):
                print(event.kind, event.node or "", event.message)

        @hookimpl
        def podium_telemetry_sinks():
            return [PrintSink()]
    """


@hookspec
def podium_event(event: Event) -> None:
    """Receive every platform event as it happens (broadcast hook).

    Must return quickly; do slow delivery on a thread of your own.

    Example::

        @hookimpl
        def podium_event(event):
            if event.kind == "node.failed":
                pager.notify(f"{event.node}: {event.message}")
    """


@hookspec
def podium_configure_telemetry(
    workload: RenderedWorkload, deployment: DeploymentResult, env: EnvironmentInfo
) -> TelemetryConfig | None:
    """Set up monitoring for a workload that was just deployed (broadcast hook).

    Return a :class:`~podium.observability.TelemetryConfig` describing what was set up
    (it is recorded with the deployment), or ``None``.

    Example::

        @hookimpl
        def podium_configure_telemetry(workload, deployment, env):
            for url in deployment.urls:
                scrape_targets.add(url + "/metrics")
            return TelemetryConfig(provider="prometheus", description="scraped /metrics",
                                   outputs={"targets": deployment.urls})
    """

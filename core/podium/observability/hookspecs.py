"""Observability hooks: telemetry sinks, the event stream, and monitoring of deployed workloads."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from podium.deployment.contract import DeploymentResult, RenderedWorkload
from podium.observability.contract import Event, TelemetryConfig, TelemetrySink
from podium.platform.context import EnvironmentInfo, PlatformInfo
from podium.plugins.markers import hookspec

if TYPE_CHECKING:
    from podium.workload.model import Workload


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
    workload: RenderedWorkload,
    deployment: DeploymentResult,
    env: EnvironmentInfo,
    settings: BaseModel | None,
) -> TelemetryConfig | None:
    """Set up monitoring for a workload that was just deployed (broadcast hook).

    Return a :class:`~podium.observability.TelemetryConfig` describing what was set up
    (it is recorded with the deployment), or ``None``. ``settings`` (opt-in, as in the
    other monitoring hooks below) is your plugin's validated settings, or ``None``.

    Example::

        @hookimpl
        def podium_configure_telemetry(workload, deployment, env):
            for url in deployment.urls:
                scrape_targets.add(url + "/metrics")
            return TelemetryConfig(provider="prometheus", description="scraped /metrics",
                                   outputs={"targets": deployment.urls})
    """


@hookspec
def podium_telemetry_plan(
    workload: Workload, env: EnvironmentInfo, settings: BaseModel | None
) -> dict[str, Any] | None:
    """Describe, at plan time, what ``podium_configure_telemetry`` will set up (broadcast hook).

    Return JSON-ready data (scrape jobs, alert names, objectives...) computed from the
    Score file alone, or ``None``. It becomes ``telemetry.<plugin>`` in the spec of the
    workload's ``observability:<workload>`` node, so ``podium plan`` shows it, diffs it
    attribute by attribute, and an edit of it alone updates the node. Raise
    :class:`~podium.errors.InputError` with ``workload.location(...)`` for an annotation
    you cannot use: the plan fails at that file and line.

    Example::

        @hookimpl
        def podium_telemetry_plan(workload, env):
            path = workload.annotations.get("example.com/metrics-path", "/metrics")
            return {"job": workload.name, "metrics_path": path}
    """


@hookspec
def podium_remove_telemetry(
    workload: str, env: EnvironmentInfo, settings: BaseModel | None
) -> None:
    """Undo ``podium_configure_telemetry`` for a workload (broadcast hook).

    Called when the workload's ``observability:<workload>`` node is deleted:
    ``podium destroy``, or the workload left the environment. Remove its scrape jobs,
    rules and dashboards; doing nothing for an unknown workload, and being called
    twice, must both be fine.

    Example::

        @hookimpl
        def podium_remove_telemetry(workload, env):
            scrape_targets.pop(workload, None)
    """


@hookspec
def podium_workload_signals(
    workload: str, env: EnvironmentInfo, settings: BaseModel | None
) -> dict[str, Any] | None:
    """Monitoring signals of a deployed workload for ``podium status`` (broadcast hook).

    Return JSON-ready data (is it scraped, is it up, request and error rates, firing
    alerts...) or ``None``. ``Platform.status`` puts it in
    :attr:`WorkloadStatus.signals <podium.deployment.WorkloadStatus.signals>` under
    your plugin's name; the CLI prints one line per plugin. Answer quickly and do not
    raise for an unreachable monitoring system: say so in the data.

    Example::

        @hookimpl
        def podium_workload_signals(workload, env):
            return {"scraped": True, "up": metrics.is_up(workload)}
    """

"""podium-prometheus's hooks: what ``[plugins] allow = ["prometheus"]`` adds to a platform.

This module is the entry point (``podium.plugins: prometheus = podium_prometheus.plugin``).
It imports nothing heavy: YAML, the Grafana SDK and the server code load when a
workload is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.plugin import InputError, hookimpl
from podium_prometheus.settings import Settings

if TYPE_CHECKING:
    from podium.plugin import (
        DeploymentResult,
        EnvironmentInfo,
        RenderedWorkload,
        TelemetryConfig,
        Workload,
    )
    from podium_prometheus.monitor import EnvironmentMonitor

PODIUM_API = ">=1.3,<2"  # podium_telemetry_plan, podium_workload_signals, podium_remove_telemetry

__all__ = ["PODIUM_API", "Settings"]

#: What a platform without a ``[plugins.prometheus]`` table gets.
_NO_SETTINGS = Settings()


def _monitor(env: EnvironmentInfo, settings: Settings | None) -> EnvironmentMonitor:
    from podium_prometheus.monitor import EnvironmentMonitor

    return EnvironmentMonitor(env, settings or _NO_SETTINGS)


@hookimpl
def podium_telemetry_plan(
    workload: Workload, env: EnvironmentInfo, settings: Settings | None
) -> dict[str, Any] | None:
    from podium_prometheus.monitoring import MonitoringError, read_monitoring

    try:
        monitoring = read_monitoring(workload.name, workload.annotations, workload.ports)
    except MonitoringError as exc:
        path = (
            ("metadata", "name")
            if exc.field == "metadata.name"
            else (
                "metadata",
                "annotations",
                exc.field,
            )
        )
        raise InputError(
            str(exc), location=workload.location(*path), field=".".join(path)
        ) from None
    chosen = settings or _NO_SETTINGS
    mode = chosen.mode_for(env.environment)
    # Availability from up and readiness where the plugin may run Prometheus and its
    # readiness exporter (auto mode: when the targets turn out to be on this machine).
    readiness = (
        chosen.readiness
        and mode in ("auto", "supervised")
        and getattr(env, "config_path", None) is not None
    )
    return {**monitoring.describe(), "mode": mode, "readiness": readiness}


@hookimpl
def podium_configure_telemetry(
    workload: RenderedWorkload,
    deployment: DeploymentResult,
    env: EnvironmentInfo,
    settings: Settings | None,
) -> TelemetryConfig | None:
    return _monitor(env, settings).configure(workload, deployment)


@hookimpl
def podium_remove_telemetry(workload: str, env: EnvironmentInfo, settings: Settings | None) -> None:
    _monitor(env, settings).remove(workload)


@hookimpl
def podium_workload_signals(
    workload: str, env: EnvironmentInfo, settings: Settings | None
) -> dict[str, Any] | None:
    return _monitor(env, settings).signals(workload)

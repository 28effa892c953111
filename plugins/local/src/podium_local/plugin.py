"""podium-local's registrations: what ``[plugins] allow = ["local"]`` brings into a platform.

This module is the entry point (``podium.plugins: local = podium_local.plugin``).
It imports nothing heavy: each provisioner and the deployer import their
libraries when they are used. Policies come from the core's ``builtin`` pack
(no :latest images outside dev, probes in prod, no plaintext secrets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.plugin import hookimpl
from podium_local.settings import Settings

if TYPE_CHECKING:
    from podium.plugin import (
        DeploymentResult,
        EnvironmentInfo,
        PlatformInfo,
        RenderedWorkload,
        TelemetryConfig,
        WorkloadTemplate,
    )

PODIUM_API = ">=1.3,<2"

__all__ = ["PODIUM_API", "Settings"]


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings()


@hookimpl
def podium_provisioners(settings: Settings | None) -> list[Any]:
    from podium_local.provisioners.basic import (
        DnsProvisioner,
        EnvironmentProvisioner,
        ServicePortProvisioner,
        VolumeProvisioner,
    )
    from podium_local.provisioners.postgres import PostgresProvisioner
    from podium_local.provisioners.redis import RedisProvisioner
    from podium_local.provisioners.route import RouteProvisioner
    from podium_local.provisioners.secret import SecretProvisioner

    config = _settings(settings)
    return [
        PostgresProvisioner(config),
        RedisProvisioner(config),
        VolumeProvisioner(),
        EnvironmentProvisioner(config),
        ServicePortProvisioner(),
        DnsProvisioner(),
        RouteProvisioner(config),
        SecretProvisioner(),
    ]


@hookimpl
def podium_deployers(settings: Settings | None) -> list[Any]:
    from podium_local.deploy.deployer import LocalDeployer

    return [LocalDeployer(_settings(settings))]


@hookimpl
def podium_telemetry_sinks(platform: PlatformInfo) -> list[Any]:
    # Events land next to the platform's state. Each platform gets its own sink
    # object, so several platforms in one process stay apart.
    from podium_local.telemetry import JsonlEventSink

    return [JsonlEventSink(platform.state_root)]


@hookimpl
def podium_configure_telemetry(
    workload: RenderedWorkload, deployment: DeploymentResult, env: EnvironmentInfo
) -> TelemetryConfig | None:
    from podium_local.telemetry import configure_telemetry

    return configure_telemetry(workload, deployment, env)


@hookimpl
def podium_workload_templates() -> list[WorkloadTemplate]:
    # Golden paths for this platform: their Score files use podium-local's process
    # deployer (a `command`) and its provisioners, so they deploy here as generated.
    from importlib import resources

    from podium.plugin import WorkloadTemplate

    root = resources.files("podium_local") / "templates"
    return [
        WorkloadTemplate(
            name="python-web",
            source=root / "python-web",
            description="HTTP service with its own PostgreSQL database",
        ),
        WorkloadTemplate(
            name="worker",
            source=root / "worker",
            description="queue consumer (redis list)",
        ),
    ]

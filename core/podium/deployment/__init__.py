"""Deployment domain: deployers, rendered workloads and releases."""

from podium.deployment.contract import (
    ContainerStatus,
    DeployContext,
    Deployer,
    DeploymentResult,
    HttpProbe,
    LogLine,
    Probe,
    Release,
    RenderedContainer,
    RenderedFile,
    RenderedResource,
    RenderedVolume,
    RenderedWorkload,
    ServicePort,
    WorkloadStatus,
)

__all__ = [
    "ContainerStatus",
    "DeployContext",
    "Deployer",
    "DeploymentResult",
    "HttpProbe",
    "LogLine",
    "Probe",
    "Release",
    "RenderedContainer",
    "RenderedFile",
    "RenderedResource",
    "RenderedVolume",
    "RenderedWorkload",
    "ServicePort",
    "WorkloadStatus",
]

"""What the kubernetes deployer says at validate and plan time, with file:line."""

from __future__ import annotations

from collections.abc import Iterable

from podium.plugin import Finding, ResourceError, Workload
from podium_kubernetes.annotations import shape
from podium_kubernetes.settings import EnvironmentOptions


def workload_findings(
    workload: Workload, options: EnvironmentOptions, mode: str
) -> Iterable[Finding]:
    metadata = workload.spec.get("metadata") or {}
    annotations = {str(k): str(v) for k, v in (metadata.get("annotations") or {}).items()}
    try:
        kind = shape(workload.name, annotations, options).kind
    except ResourceError as exc:
        yield _finding("kubernetes.annotations", str(exc), workload, "metadata", "annotations")
        return
    if mode == "podman" and kind == "CronJob":
        yield _finding(
            "kubernetes.podman-kind",
            f"{workload.name}: podman mode cannot run a CronJob",
            workload,
            "metadata",
            "annotations",
        )
    for name, container in (workload.spec.get("containers") or {}).items():
        image = str((container or {}).get("image", ""))
        if options.images.get(image, image) == ".":
            yield _finding(
                "kubernetes.image-build",
                f"{workload.name}: container {name} builds its image (image: .), which "
                "podium-kubernetes cannot do; map it in [plugins.kubernetes.environments.<env>] images",
                workload,
                "containers",
                name,
                "image",
            )


def _finding(check: str, message: str, workload: Workload, *path: str) -> Finding:
    return Finding(
        policy=check,
        level="mandatory",
        message=message,
        subject=workload.name,
        location=str(workload.location(*path)),
    )

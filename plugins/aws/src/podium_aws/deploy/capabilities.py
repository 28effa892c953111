"""What the ECS deployer cannot run, said at ``podium validate``/``plan`` time with file:line.

The same limits :mod:`podium_aws.deploy.taskdef` enforces at deploy: found here first,
they block the plan instead of failing half-way through ``podium up``.
"""

from __future__ import annotations

from podium.plugin import EnvironmentInfo, Finding, Workload

#: Score's image for "build it from this directory": ECS only pulls from a registry.
BUILD_HERE = "."


def ecs_findings(workload: Workload, env: EnvironmentInfo) -> list[Finding]:
    """One mandatory finding per limit a container runs into, located in the Score file."""
    findings: list[Finding] = []
    for name, spec in workload.containers.items():
        image = str(spec.get("image") or "").strip()
        if not image or image == BUILD_HERE:
            message = (
                f"container {name!r} needs an image from a registry (got {image!r}); "
                "aws-ecs does not build images: push it and set 'image'"
            )
            findings.append(_finding(workload, name, "image-required", message, "image"))
        if spec.get("files"):
            message = (
                f"container {name!r}: aws-ecs cannot place files into a container; bake "
                "them into the image, or pass their content as variables"
            )
            findings.append(_finding(workload, name, "no-files", message, "files"))
        if spec.get("volumes"):
            message = f"container {name!r}: aws-ecs does not mount volumes yet; use an s3 resource"
            findings.append(_finding(workload, name, "no-volumes", message, "volumes"))
    return findings


def _finding(workload: Workload, container: str, check: str, message: str, key: str) -> Finding:
    location = workload.location("containers", container, key)
    return Finding(
        f"aws-ecs.{check}",
        message,
        level="mandatory",
        subject=f"{workload.name}.containers.{container}",
        location=str(location) if location else None,
    )

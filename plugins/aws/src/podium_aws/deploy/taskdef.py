"""Turn a rendered workload into ECS container definitions (pure: no AWS calls).

Variables holding a :class:`~podium.Secret` never enter the task definition:
the caller stores them in Secrets Manager first and passes their references in
``secret_refs``, which become ``secrets[].valueFrom``.
"""

from __future__ import annotations

import re
from typing import Any

from podium.plugin import Probe, RenderedContainer, RenderedWorkload, ResourceError, Secret

_CONDITIONS = {"started": "START", "healthy": "HEALTHY", "complete": "SUCCESS"}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|K|M|G|T)?$")
_FACTORS = {
    None: 1 / (1024 * 1024),
    "Ki": 1 / 1024,
    "K": 1000 / (1024 * 1024),
    "Mi": 1,
    "M": 1000 * 1000 / (1024 * 1024),
    "Gi": 1024,
    "G": 1000**3 / (1024 * 1024),
    "Ti": 1024 * 1024,
    "T": 1000**4 / (1024 * 1024),
}


def secret_variables(workload: RenderedWorkload) -> list[tuple[str, str, Secret]]:
    """``(container, variable, value)`` for every variable that holds a secret."""
    return [
        (cname, var, value)
        for cname, container in sorted(workload.containers.items())
        for var, value in sorted(container.variables.items())
        if isinstance(value, Secret)
    ]


def container_definitions(
    workload: RenderedWorkload,
    *,
    secret_refs: dict[tuple[str, str], str],
    log_group: str,
    region: str,
) -> list[dict[str, Any]]:
    names = sorted(workload.containers)
    # Containers others wait to *complete* are init steps: they may exit.
    init_steps = {
        dep
        for c in workload.containers.values()
        for dep, cond in c.before.items()
        if cond == "complete"
    }
    definitions = []
    for index, name in enumerate(names):
        container = workload.containers[name]
        definition = _container(container, workload, secret_refs, log_group, region)
        definition["essential"] = name not in init_steps
        if index == 0 and workload.ports:
            # In awsvpc mode every container shares one network namespace, so the
            # workload's ports are declared once, on the first container.
            definition["portMappings"] = [
                {"containerPort": p.target_port, "protocol": p.protocol.lower(), "name": pname}
                for pname, p in sorted(workload.ports.items())
            ]
        definitions.append(definition)
    return definitions


def _container(
    container: RenderedContainer,
    workload: RenderedWorkload,
    secret_refs: dict[tuple[str, str], str],
    log_group: str,
    region: str,
) -> dict[str, Any]:
    where = f"workload {workload.name}, container {container.name}"
    if container.image.strip() in ("", "."):  # also said at plan time (capabilities.py)
        raise ResourceError(
            f"{where}: aws-ecs needs an image from a registry, not {container.image!r}",
            hint="push the image and set 'image' in the Score file",
        )
    if container.files:
        raise ResourceError(
            f"{where}: aws-ecs cannot place files into a container",
            hint="bake the files into the image, or pass their content as variables",
        )
    if container.volumes:
        raise ResourceError(
            f"{where}: aws-ecs does not mount volumes yet", hint="use an s3 resource instead"
        )
    definition: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "environment": [
            {"name": k, "value": v}
            for k, v in sorted(container.variables.items())
            if not isinstance(v, Secret)
        ],
        "secrets": [
            {"name": var, "valueFrom": secret_refs[(container.name, var)]}
            for var, v in sorted(container.variables.items())
            if isinstance(v, Secret)
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": workload.name,
            },
        },
    }
    if container.command:
        definition["entryPoint"] = list(container.command)
    if container.args:
        definition["command"] = list(container.args)
    memory = container.limits.get("memory")
    if memory:
        definition["memory"] = memory_mib(memory, where)
    reservation = container.requests.get("memory")
    if reservation:
        definition["memoryReservation"] = memory_mib(reservation, where)
    cpu = container.limits.get("cpu") or container.requests.get("cpu")
    if cpu:
        definition["cpu"] = cpu_units(cpu, where)
    if container.before:
        definition["dependsOn"] = [
            {"containerName": dep, "condition": _CONDITIONS[cond]}
            for dep, cond in sorted(container.before.items())
        ]
    check = _health_check(container.liveness_probe or container.readiness_probe)
    if check:
        definition["healthCheck"] = check
    return definition


def _health_check(probe: Probe | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    if probe.exec_command:
        return {"command": ["CMD", *probe.exec_command], "interval": 30, "retries": 3}
    # ECS health checks run inside the container; an HTTP probe needs a client in the image.
    if probe.http_get:
        url = f"{probe.http_get.scheme.lower()}://localhost:{probe.http_get.port}{probe.http_get.path}"
        return {"command": ["CMD-SHELL", f"wget -q -O /dev/null {url} || exit 1"], "retries": 3}
    return None


def memory_mib(value: str, where: str) -> int:
    match = _MEMORY.match(value.strip())
    if not match:
        raise ResourceError(f"{where}: memory {value!r} is not a quantity like 512Mi or 1Gi")
    return max(4, round(float(match.group(1)) * _FACTORS[match.group(2)]))


def cpu_units(value: str, where: str) -> int:
    text = value.strip()
    try:
        cores = float(text[:-1]) / 1000 if text.endswith("m") else float(text)
    except ValueError:
        raise ResourceError(f"{where}: cpu {value!r} is not a quantity like 250m or 0.5") from None
    return max(1, round(cores * 1024))

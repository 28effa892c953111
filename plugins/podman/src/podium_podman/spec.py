"""A rendered Score container as a libpod create spec: environment, mounts, secrets, checks.

Secret variables never enter the spec (``podman inspect`` shows a container's whole
environment, also for Podman's ``type=env`` secrets): they travel in one Podman
secret per container, mounted as ``/run/secrets/podium-env``, and a statically linked
busybox mounted read-only loads it and then runs the container's own command. A
file whose content is secret is a Podman secret mounted at its target; other files
are bind-mounted read-only from the deployer's state directory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.plugin import (
    DeployerState,
    Probe,
    RenderedContainer,
    RenderedVolume,
    RenderedWorkload,
    ResourceError,
    Secret,
    http_probe_url,
    write_atomic,
)
from podium_podman.resources import QuantityError, resource_limits

#: Where the secret loader is mounted, and the Podman secret with a container's variables.
SHIM = "/run/podium/busybox"
ENV_SECRET_TARGET = "podium-env"
LOADER = f'. /run/secrets/{ENV_SECRET_TARGET} && exec "$@"'
SECOND = 1_000_000_000
#: libpod's ``health_check_on_failure_action`` that restarts an unhealthy container.
ON_FAILURE_RESTART = 3
#: The label that tells podium-podman's health timer to run a container's liveness check.
LIVENESS_LABEL = "dev.podium.liveness"


@dataclass(frozen=True)
class HealthTiming:
    """How often Podman's health check runs, and how many failures in a row count."""

    interval: float = 10.0
    retries: int = 3
    start_period: float = 0.0


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def env_bundle(variables: dict[str, str]) -> str:
    """What the loader sources: one ``export NAME='value'`` per secret variable."""
    return "".join(f"export {name}={shell_quote(value)}\n" for name, value in variables.items())


def wrapped(argv: list[str]) -> list[str]:
    """``argv`` run by the loader, after it exported the secret variables."""
    return [SHIM, "sh", "-c", LOADER, "podium-env", *argv]


@dataclass
class SecretFile:
    """A Podman secret to create for a container: its name, value and where it is mounted."""

    name: str
    value: str
    target: str
    mode: int = 0o400


@dataclass
class ContainerPlan:
    """Everything to create one container, and the digest that says whether it changed."""

    name: str
    spec: dict[str, Any]
    secrets: list[SecretFile] = field(default_factory=list)
    digest: str = ""
    #: The secret values themselves (variables, file contents), to mask in output.
    mask_values: list[str] = field(default_factory=list)
    #: An exec readiness probe to run with ``exec`` (the health check is the liveness one).
    readiness_command: list[str] | None = None


def _keyed(key: bytes, value: str) -> str:
    """A short keyed digest of a secret value: names its Podman secret, reveals nothing."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def _port_env(ports: dict[str, int]) -> dict[str, str]:
    env = {}
    if ports:
        env["PORT"] = str(next(iter(ports.values())))
    for name, port in ports.items():
        env["PORT_" + re.sub(r"[^A-Z0-9]", "_", name.upper())] = str(port)
    return env


def _health_timing(timing: HealthTiming, timeout: float) -> dict[str, int]:
    timing_fields = {
        "Interval": int(timing.interval * SECOND),
        "Timeout": int(timeout * SECOND),
        "Retries": timing.retries,
    }
    if timing.start_period:
        timing_fields["StartPeriod"] = int(timing.start_period * SECOND)
    return timing_fields


def _readiness_check(
    probe: Probe | None, timeout: float, loaded: bool, timing: HealthTiming
) -> dict[str, Any] | None:
    """An exec readiness probe as Podman's health check (HTTP probes are run from the host)."""
    if probe is None or not probe.exec_command:
        return None
    argv = wrapped(list(probe.exec_command)) if loaded else list(probe.exec_command)
    return {"Test": ["CMD", *argv], **_health_timing(timing, timeout)}


def _liveness_check(
    probe: Probe, url: str | None, timeout: float, loaded: bool, timing: HealthTiming
) -> dict[str, Any]:
    """A liveness probe as Podman's health check; Podman restarts the container when it
    turns unhealthy. An HTTP GET is made from inside the container by the mounted
    busybox's ``wget`` (the container shares the host's network, so the URL is the
    port the deployer assigned on 127.0.0.1); with a command as well, both must pass."""
    command: list[str] = []
    if probe.exec_command:
        command = wrapped(list(probe.exec_command)) if loaded else list(probe.exec_command)
    if probe.http_get is None or url is None:
        return {"Test": ["CMD", *command], **_health_timing(timing, timeout)}
    fetch = [SHIM, "wget", "-q", "-O", "/dev/null"]
    for name, value in probe.http_get.headers.items():
        fetch += ["--header", f"{name}: {value}"]
    if probe.http_get.scheme == "HTTPS":
        fetch.append("--no-check-certificate")  # what a kubelet's probe does too
    fetch.append(url)
    if command:
        test = [SHIM, "sh", "-c", shlex.join(fetch) + ' && exec "$@"', "podium-liveness", *command]
    else:
        test = fetch
    return {"Test": ["CMD", *test], **_health_timing(timing, timeout)}


def readiness_command(argv: list[str], timeout: float) -> list[str]:
    """An exec readiness probe run with ``exec`` when the health check is the liveness
    probe: the mounted busybox kills it when it outlasts the probe timeout."""
    return [SHIM, "timeout", "-s", "KILL", str(max(1, math.ceil(timeout))), *argv]


def host_ports(workload: RenderedWorkload, ports: dict[str, int]) -> dict[int, int]:
    """The workload's port numbers (Score ``port`` and ``targetPort``) -> the assigned ones."""
    mapped: dict[int, int] = {}
    for name, port in workload.ports.items():
        if name in ports:
            mapped[port.port] = ports[name]
            mapped[port.target_port] = ports[name]
    return mapped


def _volume(where: str, volume: RenderedVolume, scope: str) -> tuple[str, dict[str, Any]]:
    """(``mount`` or ``volume``, its libpod entry) for one Score volume."""
    source = volume.source.get("source") or volume.source.get("path")
    options = ["ro"] if volume.read_only else ["rw"]
    if not source:
        raise ResourceError(f"{where}.volumes.{volume.target}: the volume has no 'source' output")
    text = str(source)
    if text.startswith("/"):
        # A host directory comes from a volume resource's outputs (more than the bare
        # text a Score file can write): a Score file never names a host path itself.
        if set(volume.source) == {"source"}:
            raise ResourceError(
                f"{where}.volumes.{volume.target}: source {text!r} is not a volume resource; "
                "use ${resources.<name>} with a volume resource"
            )
        path = Path(text) / volume.path if volume.path else Path(text)
        if ".." in Path(volume.path or "").parts:
            raise ResourceError(f"{where}.volumes.{volume.target}: path may not contain '..'")
        return "mount", {
            "destination": volume.target,
            "source": str(path),
            "type": "bind",
            "options": ["rbind", *options],
        }
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", text):
        raise ResourceError(f"{where}.volumes.{volume.target}: {text!r} is not a volume name")
    # A named volume belongs to this platform and environment: prefixed with its scope.
    return "volume", {"Name": f"{scope}-{text}", "Dest": volume.target, "Options": options}


def plan_container(
    *,
    workload: RenderedWorkload,
    container: RenderedContainer,
    name: str,
    image: str,
    image_config: dict[str, Any],
    labels: dict[str, str],
    ports: dict[str, int],
    restart: str,
    files_dir: DeployerState,
    scope: str,
    fingerprint_key: bytes,
    shim: str,
    probe_timeout: float,
    stop_timeout: int,
    liveness: HealthTiming | None = None,
    probe_host: str = "127.0.0.1",
) -> ContainerPlan:
    where = f"{workload.name}.containers.{container.name}"
    try:
        limits = resource_limits(container.limits, container.requests, where)
    except QuantityError as exc:
        source = workload.extensions.get("podium.source_dir")
        raise ResourceError(
            str(exc),
            hint="Score quantities: cpu as 500m, 0.5 or 2; memory as 128Mi, 1G or 1.5Gi"
            + (f" (the workload's Score file is in {source})" if source else ""),
        ) from None
    plain: dict[str, str] = {}
    secret: dict[str, str] = {}
    for key, value in container.variables.items():
        if isinstance(value, Secret):
            secret[key] = value.reveal()
        else:
            plain[key] = value
    env = {**_port_env(ports), **plain}
    for key in secret:
        env.pop(key, None)  # a secret variable wins over a port variable of the same name

    entrypoint = list(container.command) or list(image_config.get("Entrypoint") or [])
    command = list(container.args) if (container.args or container.command) else []
    if not container.command and not container.args:
        command = list(image_config.get("Cmd") or [])
    plan = ContainerPlan(name=name, spec={})
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if secret or container.liveness_probe is not None:
        # The busybox loads secret variables, and fetches a liveness probe's URL.
        mounts.append({"destination": SHIM, "source": shim, "type": "bind", "options": ["ro"]})
    if secret:
        plan.mask_values += list(secret.values())
        bundle = env_bundle(secret)
        # Named by a keyed digest of the content: a changed value is a new secret.
        secret_name = f"{name}.env.{_keyed(fingerprint_key, bundle)}"
        plan.secrets.append(SecretFile(secret_name, bundle, ENV_SECRET_TARGET, 0o400))
        argv = entrypoint + command
        if not argv:
            raise ResourceError(f"{where}: no command, and the image {image} defines none")
        entrypoint, command = wrapped(argv), []

    for index, item in enumerate(container.files):
        if not item.target.startswith("/") or ".." in Path(item.target).parts:
            raise ResourceError(f"{where}.files.{item.target}: the target must be absolute")
        mode = int(item.mode, 8) if item.mode else 0o644
        if isinstance(item.content, Secret):
            value = item.content.reveal()
            plan.mask_values.append(value)
            plan.secrets.append(
                SecretFile(
                    f"{name}.file{index}.{_keyed(fingerprint_key, value)}",
                    value,
                    item.target,
                    mode & 0o777,
                )
            )
            continue
        data = (
            base64.b64decode(item.binary_content)
            if item.binary_content is not None
            else str(item.content or "").encode()
        )
        host = files_dir.file(f"{container.name}.file{index}")
        write_atomic(host, data, mode=mode & 0o777)
        mounts.append(
            {"destination": item.target, "source": str(host), "type": "bind", "options": ["ro"]}
        )
    for volume in container.volumes:
        kind, entry = _volume(where, volume, scope)
        (mounts if kind == "mount" else volumes).append(entry)

    spec: dict[str, Any] = {
        "name": name,
        "image": image,
        "labels": labels,
        "env": env,
        "netns": {"nsmode": "host"},
        # A log file (not journald): its lines say which pieces make one line.
        "log_configuration": {"driver": "k8s-file"},
        "restart_policy": restart,
        "stop_timeout": stop_timeout,
        "mounts": mounts,
        "volumes": volumes,
        "secrets": [
            {"source": s.name, "target": s.target, "mode": s.mode, "uid": 0, "gid": 0}
            for s in plan.secrets
        ],
    }
    if entrypoint:
        spec["entrypoint"] = entrypoint
    if command:
        spec["command"] = command
    if limits:
        spec["resource_limits"] = limits
    loaded = bool(secret)
    readiness = container.readiness_probe
    check: dict[str, Any] | None
    if container.liveness_probe is not None:
        probe = container.liveness_probe
        url = None
        if probe.http_get is not None:
            url = http_probe_url(probe.http_get, host=probe_host, ports=host_ports(workload, ports))
        timing = liveness or HealthTiming()
        check = _liveness_check(probe, url, probe_timeout, loaded, timing)
        spec["health_check_on_failure_action"] = ON_FAILURE_RESTART
        labels = {**labels, LIVENESS_LABEL: f"{timing.interval:g}"}
        if readiness is not None and readiness.exec_command:
            argv = list(readiness.exec_command)
            plan.readiness_command = readiness_command(
                wrapped(argv) if loaded else argv, probe_timeout
            )
    else:
        check = _readiness_check(readiness, probe_timeout, loaded, HealthTiming())
    if check is not None:
        spec["healthconfig"] = check
    # What decides a restart: the spec (no secret inside) and a keyed digest of the
    # secrets, so a changed password restarts the container but no label reveals it.
    keyed = hmac.new(fingerprint_key, digestmod=hashlib.sha256)
    for secret_file in plan.secrets:
        keyed.update(
            f"{secret_file.name}\0{secret_file.target}\0{secret_file.mode}\0{secret_file.value}\0".encode()
        )
    content = json.dumps({k: v for k, v in spec.items() if k != "labels"}, sort_keys=True)
    plan.digest = hashlib.sha256(content.encode() + keyed.digest()).hexdigest()[:32]
    spec["labels"] = {**labels, "dev.podium.spec": plan.digest}
    plan.spec = spec
    return plan

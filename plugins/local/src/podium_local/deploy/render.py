"""From a rendered container to a launcher spec and a supervisord program.

Decisions a process cannot avoid (documented in the README):

* the container's filesystem is ``$PODIUM_ROOT`` (``root/<container>/`` of the
  workload dir): file targets are written under it, and volume targets are
  symlinks under it to the volume's directory;
* the working directory is the Score file's directory when the core passes it
  (``extensions["podium.source_dir"]``), else ``$PODIUM_ROOT``;
* ``PATH`` starts with the directory of the Python running podium, so
  ``python3`` in a command is the interpreter that has podium-local's drivers;
* ports: ``PORT`` is the first Score port, ``PORT_<NAME>`` each named one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from podium.deployment.contract import Probe, RenderedContainer, RenderedWorkload
from podium.errors import ResourceError
from podium.security.secret import Secret
from podium_local.deploy.layout import WorkloadDir, program_name
from podium_local.network import HOST
from podium_local.sealing import Sealer
from podium_local.servers.supervisord import escape
from podium_local.settings import Settings

SOURCE_DIR_EXTENSION = "podium.source_dir"


def port_env_name(name: str) -> str:
    return "PORT_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def port_map(workload: RenderedWorkload, allocated: dict[str, int]) -> dict[int, int]:
    """Score port and targetPort numbers -> the 127.0.0.1 port actually used."""
    mapping: dict[int, int] = {}
    for name, port in workload.ports.items():
        mapping[port.port] = allocated[name]
        mapping[port.target_port] = allocated[name]
    return mapping


def probe_spec(probe: Probe | None, ports: dict[int, int], where: str) -> dict[str, Any] | None:
    if probe is None:
        return None
    if probe.http_get is not None:
        get = probe.http_get
        port = ports.get(get.port, get.port)
        host = get.host or HOST
        path = get.path if get.path.startswith("/") else "/" + get.path
        return {
            "http": {"url": f"{get.scheme.lower()}://{host}:{port}{path}", "headers": get.headers}
        }
    if probe.exec_command:
        return {"exec": list(probe.exec_command)}
    raise ResourceError(f"{where}: a probe needs httpGet or exec")


def safe_relative(target: str) -> Path:
    """A file or volume target re-rooted under the container root; no escaping with '..'."""
    parts = [p for p in Path(target).parts if p not in ("/", "", ".")]
    if ".." in parts or not parts:
        raise ResourceError(f"target {target!r} must be a path without '..'")
    return Path(*parts)


def build(
    workload: RenderedWorkload,
    container: RenderedContainer,
    *,
    wdir: WorkloadDir,
    allocated: dict[str, int],
    sealer: Sealer,
    settings: Settings,
    autorestart: str,
) -> tuple[dict[str, Any], str, str]:
    """Return (launcher spec, program config, change hash) for one container.

    The hash covers everything that affects the running process, with secrets
    as keyed fingerprints, so an unchanged container is recognised (and left
    running) even though sealed tokens differ on every render.
    """
    where = f"{workload.name}.containers.{container.name}"
    argv = [*container.command, *container.args]
    if not container.command:
        raise ResourceError(
            f"{where}: no command; the local deployer runs a process, so set 'command' "
            "(the image is not used locally)"
        )
    root = wdir.root(container.name)
    cwd = workload.extensions.get(SOURCE_DIR_EXTENSION) or str(root)
    ports = port_map(workload, allocated)

    env: dict[str, str] = {"PODIUM_ROOT": str(root), "PODIUM_WORKLOAD": workload.name}
    if allocated:
        first = next(iter(workload.ports))
        env["PORT"] = str(allocated[first])
        env.update({port_env_name(n): str(p) for n, p in allocated.items()})
    sealed_env: dict[str, str] = {}
    fingerprints: dict[str, str] = {}
    for key, value in container.variables.items():
        if isinstance(value, Secret):
            sealed_env[key] = sealer.seal(value)
            fingerprints[key] = sealer.fingerprint(value)
            env.pop(key, None)
        else:
            env[key] = value
            sealed_env.pop(key, None)

    plain_files: list[dict[str, Any]] = []
    sealed_files: list[dict[str, Any]] = []
    for item in container.files:
        target = str(root / safe_relative(item.target))
        mode = int(item.mode, 8) if item.mode else 0o644
        if isinstance(item.content, Secret):
            sealed_files.append({"path": target, "sealed": sealer.seal(item.content)})
            fingerprints[f"file:{target}"] = sealer.fingerprint(item.content)
        elif item.binary_content is not None:
            plain_files.append({"path": target, "mode": mode, "binary": item.binary_content})
        elif item.content is not None:
            plain_files.append({"path": target, "mode": mode, "text": item.content})
        else:
            raise ResourceError(f"{where}.files.{item.target}: a file needs content locally")

    volumes = []
    for volume in container.volumes:
        source = volume.source.get("source") or volume.source.get("path")
        if not source:
            raise ResourceError(
                f"{where}.volumes.{volume.target}: the volume resource has no 'source' output"
            )
        path = Path(str(source)) / volume.path if volume.path else Path(str(source))
        volumes.append(
            {
                "link": str(root / safe_relative(volume.target)),
                "to": str(path),
                "read_only": volume.read_only,
            }
        )

    bin_dir = os.path.dirname(sys.executable)
    search_path = os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)])
    spec: dict[str, Any] = {
        "argv": argv,
        "cwd": cwd,
        "path": search_path,
        "env": env,
        "sealed_env": sealed_env,
        "sealed_files": sealed_files,
        "seal_key": str(sealer.key_path),
        "starts_file": str(wdir.starts(container.name)),
        "backoff": {
            "base": settings.restart_backoff,
            "max": settings.restart_backoff_max,
            "window": 10.0,
        },
        "liveness": probe_spec(container.liveness_probe, ports, f"{where}.livenessProbe"),
        "liveness_grace": settings.readiness_timeout,
        "probe_timeout": settings.probe_timeout,
        "stop_timeout": settings.stop_timeout,
    }
    readiness = probe_spec(container.readiness_probe, ports, f"{where}.readinessProbe")

    program = program_name(workload.name, container.name)
    command = " ".join(
        shlex.quote(p)
        for p in [sys.executable, "-m", "podium_local.launch", str(wdir.spec(container.name))]
    )
    conf = "\n".join(
        [
            f"[program:{program}]",
            f"command={escape(command)}",
            f"directory={escape(cwd)}",
            "autostart=false",
            f"autorestart={autorestart}",
            "exitcodes=0",
            # A job may finish at once: supervisord would call a quick exit 0 a failed start.
            f"startsecs={0 if autorestart == 'unexpected' else settings.start_seconds}",
            f"startretries={settings.start_retries}",
            "stopsignal=TERM",
            f"stopwaitsecs={settings.stop_timeout}",
            "stopasgroup=true",
            "killasgroup=true",
            f"stdout_logfile={escape(str(wdir.stdout(container.name)))}",
            f"stderr_logfile={escape(str(wdir.stderr(container.name)))}",
            "stdout_logfile_maxbytes=10MB",
            "stderr_logfile_maxbytes=10MB",
            "stdout_logfile_backups=2",
            "stderr_logfile_backups=2",
            "",
        ]
    )
    hashed = {
        "spec": {k: v for k, v in spec.items() if k not in ("sealed_env", "sealed_files")},
        "secrets": fingerprints,
        "files": plain_files,
        "volumes": volumes,
        "conf": conf,
    }
    digest = hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()
    spec["files"] = plain_files
    spec["volumes"] = volumes
    spec["readiness"] = readiness
    return spec, conf, digest


def materialise(spec: dict[str, Any]) -> None:
    """Create the container root, plain files (with their modes) and volume links."""
    Path(spec["env"]["PODIUM_ROOT"]).mkdir(parents=True, exist_ok=True)
    for item in spec.get("files", []):
        target = Path(item["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        data = base64.b64decode(item["binary"]) if "binary" in item else item["text"].encode()
        target.write_bytes(data)
        target.chmod(item["mode"])
    for link in spec.get("volumes", []):
        path = Path(link["link"])
        Path(link["to"]).mkdir(parents=True, exist_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            if path.is_symlink() and os.readlink(path) == link["to"]:
                continue
            path.unlink()
        path.symlink_to(link["to"], target_is_directory=True)

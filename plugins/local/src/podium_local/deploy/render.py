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

Names, commands and variables come from workload authors, so they are checked
here before anything is written (defence in depth: the core refuses them at
validate too): names that become paths and supervisord program names must be
plain words, and NUL (which ``exec`` cannot pass) or control characters in
variable names are refused with the variable's name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import stat
import sys
from pathlib import Path
from typing import Any

from podium.plugin import Probe, RenderedContainer, RenderedWorkload, ResourceError, Secret
from podium_local.deploy.layout import WorkloadDir, program_name
from podium_local.isolation import run_as, runtime_dir
from podium_local.network import HOST
from podium_local.rootfs import RunAs, unreachable_part, write_in_root
from podium_local.sealing import Sealer
from podium_local.servers.supervisord import escape
from podium_local.settings import Settings

SOURCE_DIR_EXTENSION = "podium.source_dir"
# Workload and container names become file names and supervisord program names.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,126}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Variable values may span lines (a PEM key, say); other control characters are refused.
_CONTROL_IN_VALUE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_name(name: str, what: str) -> None:
    if not _PLAIN_NAME.fullmatch(name) or ".." in name:
        raise ResourceError(
            f"{what} {name!r} cannot be run locally: use letters, digits, '-', '_' and '.'"
        )


def check_runnable(argv0: str, cwd: str, search_path: str, who: RunAs, where: str) -> None:
    """Refuse a command the workload's user cannot execute because a parent is closed to it.

    Typically the Python running podium lives under /root (pyenv): the process
    would fail with "Permission denied" at every restart; say why now instead.
    """
    found = str(Path(cwd, argv0)) if "/" in argv0 else shutil.which(argv0, path=search_path)
    if not found:
        return  # not found at all: the launcher reports it like any missing command
    real = Path(os.path.realpath(found))
    # Both the path the exec walks (a symlink's own directories count: tox keeps its
    # environments in a private .tox/) and where the symlinks lead.
    blocked = unreachable_part(Path(os.path.abspath(found))) or unreachable_part(real)
    if blocked is None and real.exists() and not real.stat().st_mode & stat.S_IXOTH:
        blocked = f"{real} (mode {stat.S_IMODE(real.stat().st_mode):04o})"
    if blocked:
        raise ResourceError(
            f"{where}: the workload runs as user {who.user}, who cannot run {argv0!r} "
            f"({real}): {blocked} is closed to other users",
            hint="install it where every user can read it (for Python: a virtualenv made "
            "from /usr/bin/python3 outside /root), or set [plugins.local] "
            'workload_user = "root" to run workloads as root (podium-local is then single-tenant)',
        )


def check_process_input(container: RenderedContainer, where: str) -> None:
    """Refuse what ``exec`` cannot pass (NUL) and control characters in variable names."""
    for index, arg in enumerate([*container.command, *container.args]):
        if "\x00" in arg:
            raise ResourceError(f"{where}: command/args item {index} contains a NUL byte")
    for key, value in container.variables.items():
        if not key or "=" in key or _CONTROL.search(key):
            raise ResourceError(f"{where}.variables: {key!r} is not a variable name")
        text = value.reveal() if isinstance(value, Secret) else str(value)
        if _CONTROL_IN_VALUE.search(text):
            raise ResourceError(
                f"{where}.variables.{key}: the value contains a NUL byte or control character"
            )


def port_env_name(name: str) -> str:
    return "PORT_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def port_map(workload: RenderedWorkload, allocated: dict[str, int]) -> dict[int, int]:
    """Score port and targetPort numbers -> the 127.0.0.1 port actually used."""
    mapping: dict[int, int] = {}
    for name, port in workload.ports.items():
        mapping[port.port] = allocated[name]
        mapping[port.target_port] = allocated[name]
    return mapping


def probe_spec(
    probe: Probe | None, ports: dict[int, int], where: str, who: RunAs | None = None
) -> dict[str, Any] | None:
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
        # The command is the workload author's: it runs as the workload's user.
        return {"exec": list(probe.exec_command), "run_as": who.to_dict() if who else None}
    raise ResourceError(f"{where}: a probe needs httpGet or exec")


def safe_relative(target: str) -> Path:
    """A file or volume target re-rooted under the container root; no escaping with '..'."""
    parts = [p for p in Path(target).parts if p not in ("/", "", ".")]
    if ".." in parts or not parts or "\x00" in target:
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
    check_name(workload.name, "workload name")
    check_name(container.name, f"{workload.name}: container name")
    where = f"{workload.name}.containers.{container.name}"
    check_process_input(container, where)
    argv = [*container.command, *container.args]
    if not container.command:
        raise ResourceError(
            f"{where}: no command; the local deployer runs a process, so set 'command' "
            "(the image is not used locally)"
        )
    root = wdir.root(container.name)
    cwd = workload.extensions.get(SOURCE_DIR_EXTENSION) or str(root)
    ports = port_map(workload, allocated)
    who = run_as(wdir.env, settings)

    env: dict[str, str] = {"PODIUM_ROOT": str(root), "PODIUM_WORKLOAD": workload.name}
    if who is not None:
        env.update(HOME=who.home, USER=who.user, LOGNAME=who.user)
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
        if not Path(str(source)).is_absolute():
            # A volume resource's output is an absolute directory; anything else came
            # from the Score file (a volume name), and a Score file names no host path.
            raise ResourceError(
                f"{where}.volumes.{volume.target}: source {str(source)!r} is not a volume "
                "resource; use ${resources.<name>} with a volume resource"
            )
        path = Path(str(source))
        if volume.path:
            path = path / safe_relative(volume.path)
        volumes.append(
            {
                "link": str(root / safe_relative(volume.target)),
                "to": str(path),
                "read_only": volume.read_only,
            }
        )

    bin_dir = os.path.dirname(sys.executable)
    search_path = os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)])
    if who is not None:
        check_runnable(argv[0], cwd, search_path, who, where)
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
        "liveness": probe_spec(container.liveness_probe, ports, f"{where}.livenessProbe", who),
        "liveness_grace": settings.readiness_timeout,
        "probe_timeout": settings.probe_timeout,
        "stop_timeout": settings.stop_timeout,
        "run_as": who.to_dict() if who else None,
        "volumes_dir": str(runtime_dir(wdir.env) / "volumes") if who else None,
    }
    readiness = probe_spec(container.readiness_probe, ports, f"{where}.readinessProbe", who)

    program = program_name(workload.name, container.name)
    command = " ".join(
        shlex.quote(p)
        for p in [sys.executable, "-m", "podium_local.launch", str(wdir.spec(container.name))]
    )
    conf = "\n".join(
        [
            f"[program:{program}]",
            f"command={escape(command, f'{where}: the launcher command')}",
            f"directory={escape(cwd, f'{where}: the working directory')}",
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
    """Create the container root, plain files (with their modes) and volume links.

    When the workload runs as its own user the root and its files stay root's
    (readable by the user's group, never writable), and a file is never written
    through a symlink: the user owns its volumes and could plant one there. Files land
    only where their real parent stays inside the root or one of the workload's volumes.
    """
    who = RunAs.from_dict(spec.get("run_as"))
    root = Path(spec["env"]["PODIUM_ROOT"])
    root.mkdir(parents=True, exist_ok=True)
    inside = [Path(os.path.realpath(root))]
    inside += [Path(os.path.realpath(link["to"])) for link in spec.get("volumes", [])]
    for link in spec.get("volumes", []):
        path = Path(link["link"])
        target = Path(link["to"])
        _volume_dir(target, who, spec.get("volumes_dir"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            if path.is_symlink() and os.readlink(path) == link["to"]:
                continue
            path.unlink()
        path.symlink_to(link["to"], target_is_directory=True)
    for item in spec.get("files", []):
        target = Path(item["path"])
        parent = Path(os.path.realpath(target.parent))
        if not any(parent.is_relative_to(allowed) for allowed in inside):
            raise ResourceError(
                f"file target {target} leads outside the container root (to {parent}); refused"
            )
        parent.mkdir(parents=True, exist_ok=True)
        data = base64.b64decode(item["binary"]) if "binary" in item else item["text"].encode()
        write_in_root(root, target, data, item["mode"], who)


def _volume_dir(path: Path, who: RunAs | None, volumes_dir: str | None) -> None:
    """Create a volume's directory; one of ours goes to the workload's user."""
    existed = os.path.lexists(path)
    path.mkdir(parents=True, exist_ok=True)
    if who is None:
        return
    ours = volumes_dir is not None and path.parent == Path(volumes_dir)
    if not existed or ours:
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode) and info.st_uid in (0, who.uid):
            os.chown(path, who.uid, who.gid, follow_symlinks=False)

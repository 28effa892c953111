"""The ``podman`` deployer: each Score container a real container, through Podman's API.

deploy: resolve images (the environment's image map, or a build), keep each
workload's ports (chosen once, told to the app in ``PORT``/``PORT_<NAME>``: the
containers share the host's network, bound to 127.0.0.1 by the app like
podium-local's processes), then (re)create only containers whose spec changed, in
``before`` order, and wait for their readiness probes. The record of a deploy (ports,
container names, spec digests, secret ids) lives in the deployer's private state
directory; what runs is asked of Podman, by name and labels.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
import re
import secrets
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from podium.plugin import (
    REDACTED,
    CancelledError,
    ContainerStatus,
    DeployContext,
    Deployer,
    DeployerState,
    DeploymentResult,
    EnvironmentInfo,
    Finding,
    HealthState,
    LocalSecretStore,
    LogLine,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    Secret,
    Workload,
    WorkloadStatus,
    http_probe_url,
    probe_http,
)
from podium_podman.client import Podman, ping
from podium_podman.health_timer import liveness_restarts
from podium_podman.health_timer_process import HealthTimerProcess
from podium_podman.images import resolve_image
from podium_podman.logfile import follow_entries, parse_time, read_entries
from podium_podman.resources import QuantityError, resource_limits
from podium_podman.service import PodmanService
from podium_podman.settings import EnvironmentOptions, Settings
from podium_podman.spec import (
    LIVENESS_LABEL,
    ContainerPlan,
    HealthTiming,
    host_ports,
    plan_container,
)

HOST = "127.0.0.1"
STRENGTH = {"started": 1, "healthy": 2, "complete": 3}
RECORD = "record.json"
#: how often a deploy checks readiness while it waits (an app ready in 0.3 s is seen
#: within 0.1 s of it; each check is one API call, or one exec for a command probe)
READINESS_POLL_SECONDS = 0.1
#: The key file of a LocalSecretStore made with ``in_state_dir``.
STORE_KEY = "key"


def start_order(workload: RenderedWorkload) -> list[str]:
    """Containers sorted so each starts after those its ``before`` names (file order otherwise)."""
    graph: dict[str, list[str]] = {}
    for name, container in workload.containers.items():
        for dependency in container.before:
            if dependency not in workload.containers:
                raise ResourceError(
                    f"{workload.name}.containers.{name}.before: no container {dependency!r}"
                )
        graph[name] = list(container.before)
    sorter = graphlib.TopologicalSorter(graph)
    try:
        ready = list(sorter.static_order())
    except graphlib.CycleError:
        raise ResourceError(
            f"{workload.name}: the containers' 'before' entries form a cycle"
        ) from None
    position = {name: i for i, name in enumerate(workload.containers)}
    # static_order is a valid order; stabilise it to the file's order where free to.
    ordered: list[str] = []
    remaining = sorted(ready, key=position.__getitem__)
    while remaining:
        for name in remaining:
            if all(d in ordered for d in workload.containers[name].before):
                ordered.append(name)
                remaining.remove(name)
                break
    return ordered


def required_conditions(workload: RenderedWorkload) -> dict[str, str]:
    """What each container must reach before its dependants start (the strongest asked)."""
    required: dict[str, str] = {}
    for container in workload.containers.values():
        for dependency, condition in container.before.items():
            if STRENGTH[condition] > STRENGTH.get(required.get(dependency, ""), 0):
                required[dependency] = condition
    return required


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class PodmanDeployer(Deployer):
    name: ClassVar[str] = "podman"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    # --- helpers -------------------------------------------------------------------
    def _state(self, env: EnvironmentInfo) -> DeployerState:
        return DeployerState.for_deployer(env, self.name)

    def _service(self, env: EnvironmentInfo) -> PodmanService:
        return PodmanService(self._state(env), self.settings)

    @contextmanager
    def _podman(self, env: EnvironmentInfo) -> Iterator[Podman]:
        """A client of the configured socket, or of the service this plugin runs (started
        when needed, and marked in use so a destroy elsewhere does not stop it meanwhile)."""
        if self.settings.socket:
            podman = Podman(self.settings.socket)
            try:
                yield podman
            finally:
                podman.close()
            return
        service = self._service(env)
        with service.in_use():
            podman = Podman(service.ensure_running(ping))
            try:
                yield podman
            finally:
                podman.close()

    def _health_timer(self, env: EnvironmentInfo) -> HealthTimerProcess:
        return HealthTimerProcess(self._state(env), self._scope(env))

    def _ensure_health_timer(self, env: EnvironmentInfo, url: str) -> None:
        """Liveness checks need something to run them on time (see health_timer)."""
        if self.settings.liveness_timer:
            self._health_timer(env).ensure_running(url)

    def _scope(self, env: EnvironmentInfo) -> str:
        """A short id of this platform and environment (and where its state lives)."""
        text = f"{env.platform}/{env.environment}/{env.state_dir.resolve()}"
        return "podium-" + hashlib.sha256(text.encode()).hexdigest()[:10]

    def _labels(self, env: EnvironmentInfo, workload: str) -> dict[str, str]:
        return {
            "dev.podium.scope": self._scope(env),
            "dev.podium.platform": env.platform,
            "dev.podium.environment": env.environment,
            "dev.podium.workload": workload,
        }

    def _container_name(self, env: EnvironmentInfo, workload: str, container: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", f"{workload}-{container}".lower()).strip("-")
        digest = hashlib.sha256(f"{workload}\0{container}".encode()).hexdigest()[:6]
        return f"{self._scope(env)}-{slug[:40]}-{digest}"

    def _store(self, env: EnvironmentInfo, name: str) -> LocalSecretStore:
        """One of the deployer's encrypted stores, its key made once under a lock.

        ``secrets`` backs Podman's shell driver; ``masks`` keeps each container's
        secret values to mask them in logs and errors. Deploys run in parallel (and
        Podman runs the driver in parallel): the first use of a store makes its key.
        """
        state = self._state(env)
        store = LocalSecretStore.in_state_dir(state.path / name)
        if not (state.path / name / STORE_KEY).exists():
            with state.lock(f"store-{name}"):
                if not (state.path / name / STORE_KEY).exists():
                    store.put("podium-podman/init", Secret("-"))
                    store.delete("podium-podman/init")
        return store

    def _mask_store(self, env: EnvironmentInfo) -> LocalSecretStore:
        return self._store(env, "masks")

    def _driver_options(self, env: EnvironmentInfo) -> dict[str, str]:
        store = shlex.quote(str(self._state(env).path / "secrets"))
        python = shlex.quote(sys.executable)
        # Bytecode caching on even where the caller turned it off (tox does): Podman runs
        # the driver at every secret operation, and compiling Podium each time costs.
        return {
            op: f"/usr/bin/env -u PYTHONDONTWRITEBYTECODE {python} -m podium_podman.secret_driver "
            f"{store} {op}"
            for op in ("store", "lookup", "delete", "list")
        }

    def _fingerprint_key(self, env: EnvironmentInfo) -> bytes:
        state = self._state(env)
        with state.lock("fingerprint"):
            key = state.read_text("fingerprint.key")
            if key is None:
                key = secrets.token_hex(32)
                state.write_text("fingerprint.key", key)
        return bytes.fromhex(key.strip())

    # --- validate ----------------------------------------------------------------------
    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> list[Finding]:
        """``image: .`` needs a Containerfile; an image must be mapped or be local (checked at deploy)."""
        from podium_podman.images import build_file

        findings = []
        source = workload.path.parent if workload.path is not None else None
        for name, spec in workload.containers.items():
            findings += _resource_findings(workload, name, spec)
            if spec.get("image") == "." and source is not None and build_file(source) is None:
                findings.append(
                    Finding(
                        "podman.build-file",
                        f"container {name!r} has 'image: .', but {source} has no "
                        "Containerfile or Dockerfile to build it from",
                        level="mandatory",
                        subject=f"{workload.name}.containers.{name}",
                        location=str(workload.location("containers", name, "image")),
                    )
                )
        return findings

    # --- deploy -------------------------------------------------------------------------
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        env = ctx.env
        options = EnvironmentOptions.of(env.settings)
        wstate = self._state(env).workload(workload.name)
        with self._podman(env) as podman, wstate.lock("deploy"):
            return self._deploy(ctx, workload, podman, options, wstate)

    def _deploy(
        self,
        ctx: DeployContext,
        workload: RenderedWorkload,
        podman: Podman,
        options: EnvironmentOptions,
        wstate: DeployerState,
    ) -> DeploymentResult:
        env = ctx.env
        record = wstate.read_json(RECORD, {}) or {}
        kept_ports = record.get("ports", {})
        ports = {name: int(kept_ports.get(name) or free_port()) for name in workload.ports}
        order = start_order(workload)
        required = required_conditions(workload)
        labels = {**workload.labels, **self._labels(env, workload.name)}
        key = self._fingerprint_key(env)
        plans: dict[str, ContainerPlan] = {}
        for name in order:
            container = workload.containers[name]
            image = resolve_image(podman, workload, name, options, env.environment)
            config = (podman.image(image) or {}).get("Config") or {}
            job = required.get(name) == "complete"
            plans[name] = plan_container(
                workload=workload,
                container=container,
                name=self._container_name(env, workload.name, name),
                image=image,
                image_config=config,
                labels={
                    **labels,
                    "dev.podium.container": name,
                    "dev.podium.release": str(ctx.release),
                },
                ports=ports,
                restart="on-failure" if job else options.restart,
                files_dir=wstate,
                scope=self._scope(env),
                fingerprint_key=key,
                shim=self.settings.secret_shell,
                probe_timeout=self.settings.probe_timeout,
                stop_timeout=self.settings.stop_timeout,
                liveness=HealthTiming(
                    interval=self.settings.liveness_interval,
                    retries=self.settings.liveness_retries,
                    start_period=self.settings.liveness_start_period,
                ),
                probe_host=HOST,
            )
        # Containers of this workload the new release no longer has.
        wanted = {plan.name for plan in plans.values()}
        for found in podman.containers(self._labels(env, workload.name)):
            names = [n.lstrip("/") for n in found.get("Names") or []]
            if not wanted.intersection(names):
                self._remove(podman, names[0] if names else found["Id"], env)
        entries: dict[str, dict[str, Any]] = {}
        started: set[str] = set()
        for name in order:
            plan = plans[name]
            container = workload.containers[name]
            entries[name] = {
                "container": plan.name,
                "digest": plan.digest,
                "job": required.get(name) == "complete",
                "readiness": self._readiness(container, ports, workload, plan),
                "secrets": [s.name for s in plan.secrets],
                "liveness": LIVENESS_LABEL in plan.spec["labels"],
            }
            current = podman.inspect(plan.name)
            if current is not None and self._keep(current, plan, entries[name]):
                continue
            self._create(podman, plan, env)
            started.add(name)
            if name in required:
                self._wait(
                    podman, workload.name, {name: entries[name]}, required[name], started, ctx
                )

        urls = [f"http://{HOST}:{port}" for port in ports.values()]
        outputs: dict[str, Any] = {
            "host": HOST,
            "ports": dict(ports),
            "urls": urls,
            "containers": {n: e["container"] for n, e in entries.items()},
            "images": {n: plans[n].spec["image"] for n in order},
        }
        if ports:
            outputs["port"] = next(iter(ports.values()))
            outputs["url"] = urls[0]
        wstate.write_json(
            RECORD,
            {
                "workload": workload.name,
                "release": ctx.release,
                "ports": ports,
                "urls": urls,
                "containers": entries,
                "deployed_at": time.time(),
            },
        )
        self._wait(podman, workload.name, entries, "healthy", started, ctx)
        if any(entry["liveness"] for entry in entries.values()):
            self._ensure_health_timer(env, podman.url)
        return DeploymentResult(
            outputs=outputs, urls=urls, message=f"release {ctx.release} running"
        )

    @staticmethod
    def _readiness(
        container: RenderedContainer,
        ports: dict[str, int],
        workload: RenderedWorkload,
        plan: ContainerPlan,
    ) -> dict[str, Any] | None:
        """How to check readiness later: an HTTP URL (from the host), and Podman's health
        check or (when the health check is the liveness probe) a command to exec."""
        probe = container.readiness_probe
        if probe is None:
            return None
        mapped = host_ports(workload, ports)
        entry: dict[str, Any] = {"exec": bool(probe.exec_command)}
        if plan.readiness_command is not None:
            entry = {"exec": False, "command": plan.readiness_command}
        if probe.http_get is not None:
            entry["url"] = http_probe_url(probe.http_get, host=HOST, ports=mapped)
            entry["headers"] = dict(probe.http_get.headers)
        return entry

    @staticmethod
    def _keep(current: dict[str, Any], plan: ContainerPlan, entry: dict[str, Any]) -> bool:
        """Whether the running container already is this spec (a retried or repeated deploy)."""
        labels = (current.get("Config") or {}).get("Labels") or {}
        if labels.get("dev.podium.spec") != plan.digest:
            return False
        state = current.get("State") or {}
        if state.get("Running") or state.get("Restarting"):
            return True
        return bool(entry["job"] and state.get("Status") == "exited" and state.get("ExitCode") == 0)

    def _create(self, podman: Podman, plan: ContainerPlan, env: EnvironmentInfo) -> None:
        """Replace the container; its secrets are named by content, so unchanged ones stay."""
        podman.remove(plan.name, stop_timeout=self.settings.stop_timeout)
        if plan.secrets:
            self._store(env, "secrets").close()  # its key exists before Podman's driver runs
            masks = self._mask_store(env)
            try:  # what logs and errors mask, kept encrypted like the secrets themselves
                masks.put(plan.name, Secret(json.dumps(plan.mask_values)))
            finally:
                masks.close()
        options = self._driver_options(env)
        for item in plan.secrets:
            if not podman.secret_exists(item.name):
                podman.create_secret(item.name, item.value, options)
        podman.create_container(plan.spec)
        self._remove_secrets(podman, plan.name, keep={s.name for s in plan.secrets})
        podman.start(plan.name)

    def _remove(self, podman: Podman, name: str, env: EnvironmentInfo) -> None:
        """Stop and remove a container, then the Podman secrets it had and their masks."""
        podman.remove(name, stop_timeout=self.settings.stop_timeout)
        self._remove_secrets(podman, name, keep=set())
        masks = self._mask_store(env)
        try:
            masks.delete(name)
        finally:
            masks.close()

    @staticmethod
    def _remove_secrets(podman: Podman, container: str, keep: set[str]) -> None:
        for secret in podman.secret_names():
            if secret.startswith(f"{container}.") and secret not in keep:
                podman.remove_secret(secret)

    # --- readiness ------------------------------------------------------------------------
    def _check(
        self,
        podman: Podman,
        entry: dict[str, Any],
        condition: str,
        fresh: bool,
        *,
        recent_health: bool = False,
    ) -> tuple[bool, str, bool]:
        """(reached?, message, hopeless?) for one container.

        ``recent_health``: a passed health check younger than its interval stands (what
        Podman itself reports between checks); a deploy waiting for readiness runs it.
        """
        current = podman.inspect(entry["container"])
        if current is None:
            return False, "container not found", fresh
        state = current.get("State") or {}
        status = str(state.get("Status", "unknown"))
        exit_code = state.get("ExitCode")
        if status == "exited" and exit_code == 0 and (entry.get("job") or condition == "complete"):
            return True, "completed", False
        restarts = int(current.get("RestartCount") or 0)
        if fresh and restarts > 0:
            return False, f"exited and was restarted {restarts} time(s)", True
        if fresh and status in ("exited", "stopped"):
            return False, f"exited with code {exit_code}", True
        if condition == "complete":
            return False, f"has not completed (state {status})", False
        if not state.get("Running"):
            return False, f"container is {status} (exit code {exit_code})", False
        readiness = entry.get("readiness")
        probed = condition != "started" and bool(readiness)
        if fresh and not probed and _up_for(state) < self.settings.start_seconds:
            # Nothing but "running" says it started: an immediate exit must not pass.
            # A container with a readiness probe has a better signal, its first pass.
            return False, "starting", False
        if not probed or readiness is None:
            return True, "running", False
        if readiness.get("url"):
            result = probe_http(
                readiness["url"], timeout=self.settings.probe_timeout, headers=readiness["headers"]
            )
            if not result.ok:
                return False, "readiness probe: " + result.message, False
        if readiness.get("exec") and not (recent_health and _passed_recently(current)):
            ok, message = podman.run_healthcheck(entry["container"])
            if not ok:
                return False, "readiness probe: " + message, False
        if readiness.get("command"):
            ok, message = podman.exec_check(entry["container"], list(readiness["command"]))
            if not ok:
                return False, "readiness probe: " + message, False
        return True, "ready", False

    def _wait(
        self,
        podman: Podman,
        workload: str,
        entries: dict[str, dict[str, Any]],
        condition: str,
        started: set[str],
        ctx: DeployContext,
    ) -> None:
        limit = ctx.time_left(self.settings.readiness_timeout) or 0.0
        deadline = time.monotonic() + limit
        masks = self._mask_values(ctx.env, entries)
        while True:
            waiting: dict[str, str] = {}
            for name, entry in entries.items():
                ok, message, hopeless = self._check(podman, entry, condition, name in started)
                if hopeless:
                    tail = self._tail(podman, entry["container"], masks)
                    podman.remove(entry["container"], stop_timeout=0)
                    raise ResourceError(
                        f"{workload}: container {name} cannot start: {message}"
                        + (f": {tail}" if tail else ""),
                        hint=f"see 'podium logs {workload}'",
                    )
                if not ok:
                    waiting[name] = _mask(message, masks)
            if not waiting:
                return
            if ctx.cancelled:
                raise CancelledError(f"{workload}: cancelled while waiting for readiness")
            if time.monotonic() >= deadline:
                detail = "; ".join(f"container {n}: {m}" for n, m in waiting.items())
                word = "ready" if condition == "healthy" else condition
                raise ResourceError(
                    f"{workload}: not {word} after {limit:g}s: {detail}",
                    hint=f"see 'podium logs {workload}'",
                )
            ctx.sleep(READINESS_POLL_SECONDS)

    def _tail(self, podman: Podman, name: str, masks: list[str]) -> str:
        with suppress(Exception):
            raw = podman.api.logs(name, stdout=True, stderr=True, tail=3)
            lines = raw.decode(errors="replace").strip().splitlines()
            return " | ".join(_mask(line, masks) for line in lines)
        return ""

    def _mask_values(self, env: EnvironmentInfo, entries: dict[str, dict[str, Any]]) -> list[str]:
        """The workload's secret values (from Podium's store), to mask in output we show."""
        wanted = [e["container"] for e in entries.values() if e.get("secrets")]
        if not wanted:
            return []
        values: list[str] = []
        store = self._mask_store(env)
        try:
            for name in wanted:
                values += json.loads(store.get(name).reveal())
        except Exception:  # unreadable: show nothing rather than unmasked output
            return [_UNMASKABLE]
        finally:
            store.close()
        return values

    # --- status and logs -----------------------------------------------------------------
    def status(self, ctx: DeployContext) -> WorkloadStatus:
        wstate = self._state(ctx.env).workload(ctx.workload)
        record = wstate.read_json(RECORD)
        if not record:
            return WorkloadStatus(workload=ctx.workload, state="absent", message="not deployed")
        restarted_for_liveness = liveness_restarts(self._state(ctx.env).path)
        with self._podman(ctx.env) as podman:
            containers: dict[str, ContainerStatus] = {}
            redeploy = False
            for name, entry in record["containers"].items():
                ok, message, _ = self._check(
                    podman, entry, "healthy", fresh=False, recent_health=True
                )
                current = podman.inspect(entry["container"]) or {}
                state = current.get("State") or {}
                if not ok and not state.get("Running") and not state.get("Restarting"):
                    redeploy = True  # gone, or stopped for good: only a deploy brings it back
                # Podman's restarts after a crash, and those after a failed liveness check
                # (Podman does not count those; the health timer does).
                restarts = int(current.get("RestartCount") or 0)
                restarts += restarted_for_liveness.get(str(current.get("Id")), 0)
                containers[name] = ContainerStatus(
                    state="ready" if ok else "down", message=message, restarts=restarts
                )
            if any(entry.get("liveness") for entry in record["containers"].values()):
                self._ensure_health_timer(ctx.env, podman.url)  # e.g. after a reboot
        ready = sum(1 for c in containers.values() if c.state == "ready")
        health: HealthState = (
            "ready" if ready == len(containers) else ("down" if ready == 0 else "partial")
        )
        problems = [f"{n}: {c.message}" for n, c in containers.items() if c.state != "ready"]
        return WorkloadStatus(
            workload=ctx.workload,
            state=health,
            urls=record.get("urls", []),
            containers=containers,
            message="; ".join(problems) or f"release {record.get('release')} ready",
            redeploy=redeploy,
        )

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        record = self._state(ctx.env).workload(ctx.workload).read_json(RECORD)
        if not record:
            return
        names = list(record["containers"])
        if container is not None:
            if container not in names:
                raise ResourceError(
                    f"{ctx.workload} has no container {container!r} (it has {', '.join(names)})"
                )
            names = [container]
        masks = self._mask_values(ctx.env, record["containers"])
        paths = {}
        with self._podman(ctx.env) as podman:
            for name in names:
                current = podman.inspect(record["containers"][name]["container"]) or {}
                if current.get("LogPath"):
                    paths[name] = Path(current["LogPath"])
        if not follow:
            lines = [
                LogLine(name, _mask(e.text, masks), e.timestamp, e.stream)
                for name, path in paths.items()
                for e in read_entries(path, tail)
            ]
            lines.sort(key=lambda line: line.timestamp or datetime.min.astimezone())
            yield from lines
            return
        for name, entry in follow_entries(
            paths, tail, stop=lambda: ctx.cancelled, wait=ctx.cancel.wait
        ):
            yield LogLine(name, _mask(entry.text, masks), entry.timestamp, entry.stream)

    # --- destroy ------------------------------------------------------------------------------
    def destroy(self, ctx: DeployContext) -> None:
        env = ctx.env
        state = self._state(env)
        wstate = state.workload(ctx.workload)
        record = wstate.read_json(RECORD)
        if not record and not state.path.exists():
            return  # never deployed here: no service to start just to find nothing
        with self._podman(env) as podman:
            with wstate.lock("deploy"):
                for found in podman.containers(self._labels(env, ctx.workload)):
                    names = [n.lstrip("/") for n in found.get("Names") or []]
                    self._remove(podman, names[0] if names else found["Id"], env)
                for entry in (record or {}).get("containers", {}).values():
                    self._remove(podman, entry["container"], env)
            wstate.remove_all()
            idle = not podman.containers({"dev.podium.scope": self._scope(env)})
        if idle:
            self._health_timer(env).stop()
        if idle and self.settings.socket is None:
            self._service(env).stop_if_unused()


def _resource_findings(workload: Workload, name: str, spec: dict[str, Any]) -> list[Finding]:
    """A container's ``resources`` quantities Podman cannot apply, at their file position."""
    resources = spec.get("resources") or {}
    given = {kind: resources.get(kind) or {} for kind in ("limits", "requests")}
    if not all(isinstance(value, dict) for value in given.values()):
        return []  # not Score's shape: the schema check reports it
    try:
        resource_limits(
            {k: str(v) for k, v in given["limits"].items()},
            {k: str(v) for k, v in given["requests"].items()},
            f"{workload.name}.containers.{name}",
        )
    except QuantityError as exc:
        path = ["containers", name, "resources", *exc.path]
        return [
            Finding(
                "podman.resources",
                str(exc),
                level="mandatory",
                subject=f"{workload.name}.containers.{name}",
                location=str(workload.location(*path)),
            )
        ]
    return []


def _up_for(state: dict[str, Any]) -> float:
    """Seconds since the container (last) started; 0 when unknown."""
    started = parse_time(str(state.get("StartedAt", "")))
    return 0.0 if started is None else (datetime.now(UTC) - started).total_seconds()


def _passed_recently(current: dict[str, Any]) -> bool:
    """Whether the container's last health check passed within its interval."""
    health = (current.get("State") or {}).get("Health") or {}
    log = health.get("Log") or []
    interval = ((current.get("Config") or {}).get("Healthcheck") or {}).get("Interval") or 0
    if not log or log[-1].get("ExitCode") != 0 or not interval:
        return False
    ended = parse_time(str(log[-1].get("End", "")))
    if ended is None:
        return False
    age = (datetime.now(UTC) - ended).total_seconds()
    return 0 <= age < int(interval) / 1e9


#: Stands for "the secrets could not be read": then output is not shown at all.
_UNMASKABLE = "\0unmaskable"


def _mask(text: str, masks: list[str]) -> str:
    if _UNMASKABLE in masks:
        return "(output not shown: the container's secrets could not be read to mask it)"
    for value in sorted(filter(None, masks), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text

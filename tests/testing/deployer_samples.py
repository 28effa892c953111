"""A deployer written as a plugin author would, and 21 bugs to plant in it one at a time.

``BackgroundDeployer`` runs each container as a background process (standard
library only: ``subprocess`` with a session of its own, ``os.killpg``), keeping
pid files, logs and a deployment record under the environment's state
directory. It keeps the deployer contract; each name of :data:`BUGS` turns one
piece of it off, the way a deployer written in a hurry gets it wrong, for
test_deployer_kit.py to check the kit catches every one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from podium.plugin import (
    ContainerStatus,
    DeployContext,
    Deployer,
    DeploymentResult,
    HealthState,
    LogLine,
    NotFoundError,
    Probe,
    Release,
    RenderedContainer,
    RenderedWorkload,
    ResourceError,
    Secret,
    WorkloadStatus,
)

#: Every bug the sample can be built with; the number is the issue's (#13 = issue 15).
BUGS = {
    "destroy_leaves_processes": 1,  # destroy does nothing; status still reports the processes
    "destroy_forgets_processes": 2,  # destroy removes its files but stops nothing
    "status_trusts_pid_files": 3,  # a pid file means ready, dead or not
    "dead_reported_absent": 4,  # no process alive: "absent"
    "destroyed_reported_down": 5,  # destroy keeps the record: status says "down"
    "destroy_of_nothing_raises": 6,
    "deploy_not_idempotent": 7,  # deploy never stops what runs
    "old_release_left_running": 8,  # deploy stops only processes of the same release
    "no_start_check": 9,  # success without checking the processes run
    "ignores_readiness": 10,
    "ignores_before": 11,
    "pid_files_at_end": 12,  # a deploy killed midway leaves processes nobody knows
    "term_without_kill": 13,
    "logs_ignore_container": 14,
    "logs_ignore_tail": 15,
    "logs_ignore_follow": 16,
    "rollback_is_a_noop": 17,
    "secrets_written_to_disk": 18,
    "secrets_in_outputs": 19,
    "drops_secret_variables": 20,
    "passes_podium_variables": 21,
}

STRENGTH = {"started": 1, "healthy": 2, "complete": 3}


class BackgroundDeployer(Deployer):
    """Each container a process in a session of its own; state in ``<state>/background/``."""

    name: ClassVar[str] = "sample-background"

    def __init__(
        self,
        bugs: frozenset[str] | set[str] = frozenset(),
        *,
        stop_timeout: float = 1.0,
        start_seconds: float = 1.0,
        readiness_timeout: float = 20.0,
    ) -> None:
        unknown = set(bugs) - set(BUGS)
        if unknown:
            raise ValueError(f"unknown bugs: {sorted(unknown)}")
        self.bugs = frozenset(bugs)
        self.stop_timeout = stop_timeout
        self.start_seconds = start_seconds
        self.readiness_timeout = readiness_timeout
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def _dir(self, ctx: DeployContext) -> Path:
        return Path(ctx.env.state_dir) / "background" / ctx.workload

    @staticmethod
    def _record(directory: Path) -> dict[str, Any] | None:
        try:
            data = json.loads((directory / "deployment.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # --- processes ---------------------------------------------------------------------
    def _pid_files(self, directory: Path) -> list[Path]:
        return sorted(directory.glob("*.pid")) if directory.is_dir() else []

    def _running(self, entry: dict[str, Any]) -> bool:
        pid = int(entry["pid"])
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        fields = stat.rsplit(")", 1)[1].split()
        return fields[0] != "Z" and int(fields[19]) == entry.get("ticks")

    def _exit_code(self, entry: dict[str, Any]) -> int | None:
        child = self._children.get(int(entry["pid"]))
        return child.poll() if child is not None else None

    def _stop(self, entry: dict[str, Any]) -> None:
        """TERM the process's group, then KILL it if it is still there after the timeout."""
        pid = int(entry["pid"])
        if not self._running(entry):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        if "term_without_kill" in self.bugs:
            return
        deadline = time.monotonic() + self.stop_timeout
        while self._running(entry) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._running(entry):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while self._running(entry):
                time.sleep(0.05)
        child = self._children.pop(pid, None)
        if child is not None:
            child.wait()

    def _environment(self, container: RenderedContainer) -> dict[str, str]:
        if "passes_podium_variables" in self.bugs:
            env = dict(os.environ)
        else:  # the operator's PODIUM_* settings (the state key...) are not the workload's
            env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
        for key, value in container.variables.items():
            if isinstance(value, Secret):
                if "drops_secret_variables" in self.bugs:
                    continue
                env[key] = value.reveal()
            else:
                env[key] = value
        return env

    def _spawn(self, directory: Path, container: RenderedContainer, release: int) -> dict[str, Any]:
        env = self._environment(container)
        if "secrets_written_to_disk" in self.bugs:
            (directory / f"{container.name}.env").write_text(json.dumps(env))
        with (directory / f"{container.name}.log").open("ab") as log:
            child = subprocess.Popen(
                [*container.command, *container.args],
                env=env,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._children[child.pid] = child
        ticks = None
        with contextlib.suppress(OSError):
            ticks = int(Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        return {"pid": child.pid, "ticks": ticks, "release": release, "container": container.name}

    @staticmethod
    def _save_pid(directory: Path, entry: dict[str, Any]) -> None:
        path = directory / f"{entry['container']}@{entry['release']}.pid"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entry))
        os.replace(temporary, path)

    def _current(self, directory: Path, name: str, release: int) -> dict[str, Any] | None:
        try:
            data = json.loads((directory / f"{name}@{release}.pid").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # --- probes and conditions -----------------------------------------------------------
    @staticmethod
    def _probe(probe: Probe | None, cwd: Path) -> bool:
        if probe is None:
            return True
        if probe.exec_command:
            try:
                done = subprocess.run(
                    probe.exec_command, cwd=cwd, capture_output=True, timeout=5, check=False
                )
            except (OSError, subprocess.TimeoutExpired):
                return False
            return done.returncode == 0
        if probe.http_get is not None:
            get = probe.http_get
            url = f"{get.scheme.lower()}://{get.host or '127.0.0.1'}:{get.port}{get.path}"
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    return 200 <= int(response.status) < 400
            except (urllib.error.URLError, OSError):
                return False
        return True

    def _reach(
        self,
        directory: Path,
        workload: RenderedWorkload,
        name: str,
        entry: dict[str, Any],
        condition: str,
    ) -> None:
        """Wait until container ``name`` (process ``entry``) reaches ``condition``, or fail."""
        if condition == "healthy" and "ignores_readiness" in self.bugs:
            condition = "started"
        probe = workload.containers[name].readiness_probe
        deadline = time.monotonic() + self.readiness_timeout
        while True:
            code = self._exit_code(entry)
            running = self._running(entry)
            if condition == "complete":
                if code == 0:
                    return
                if not running:
                    raise ResourceError(f"{workload.name}: {name} exited with code {code}")
            elif not running:
                raise ResourceError(
                    f"{workload.name}: container {name} exited (code {code}) before it was "
                    f"{condition}"
                )
            elif condition == "started" or self._probe(probe, directory):
                return
            if time.monotonic() >= deadline:
                raise ResourceError(
                    f"{workload.name}: container {name} not {condition} after "
                    f"{self.readiness_timeout:g}s"
                )
            time.sleep(0.1)

    @staticmethod
    def _order(workload: RenderedWorkload) -> list[str]:
        order: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in order:
                return
            if name in visiting:
                raise ResourceError(f"{workload.name}: 'before' forms a cycle at {name}")
            visiting.add(name)
            for dependency in workload.containers[name].before:
                if dependency not in workload.containers:
                    raise ResourceError(f"{workload.name}.{name}.before: no {dependency!r}")
                visit(dependency)
            visiting.discard(name)
            order.append(name)

        for name in workload.containers:
            visit(name)
        return order

    # --- the contract ---------------------------------------------------------------------
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        directory = self._dir(ctx)
        directory.mkdir(parents=True, exist_ok=True)
        for pid_file in self._pid_files(directory):
            if "deploy_not_idempotent" in self.bugs:
                break
            entry = json.loads(pid_file.read_text())
            if "old_release_left_running" in self.bugs and entry["release"] != ctx.release:
                continue
            self._stop(entry)
            pid_file.unlink()
        required: dict[str, str] = {}
        for container in workload.containers.values():
            for dependency, condition in container.before.items():
                if STRENGTH[condition] > STRENGTH.get(required.get(dependency, ""), 0):
                    required[dependency] = condition
        record = {"release": ctx.release, "containers": sorted(workload.containers)}
        (directory / "deployment.json").write_text(json.dumps(record))
        spawned: dict[str, dict[str, Any]] = {}
        for name in self._order(workload):
            container = workload.containers[name]
            if "ignores_before" not in self.bugs:
                for dependency, condition in container.before.items():
                    self._reach(directory, workload, dependency, spawned[dependency], condition)
            spawned[name] = self._spawn(directory, container, ctx.release)
            if "pid_files_at_end" not in self.bugs:
                self._save_pid(directory, spawned[name])
        if "no_start_check" not in self.bugs:
            time.sleep(self.start_seconds)  # a command that cannot run exits by then
            for name, entry in spawned.items():
                done = "complete" if required.get(name) == "complete" else "healthy"
                self._reach(directory, workload, name, entry, done)
        if "pid_files_at_end" in self.bugs:
            for entry in spawned.values():
                self._save_pid(directory, entry)
        outputs: dict[str, Any] = {"directory": str(directory)}
        if "secrets_in_outputs" in self.bugs:
            outputs["environment"] = {
                name: self._environment(c) for name, c in workload.containers.items()
            }
        return DeploymentResult(outputs=outputs, message=f"release {ctx.release} started")

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        directory = self._dir(ctx)
        record = self._record(directory)
        if record is None:
            return WorkloadStatus(workload=ctx.workload, state="absent", message="not deployed")
        containers: dict[str, ContainerStatus] = {}
        for name in record["containers"]:
            entry = self._current(directory, name, int(record["release"]))
            if entry is None:
                containers[name] = ContainerStatus(state="down", message="not started")
            elif "status_trusts_pid_files" in self.bugs or self._running(entry):
                containers[name] = ContainerStatus(state="ready", message="running")
            elif self._exit_code(entry) == 0:
                containers[name] = ContainerStatus(state="ready", message="completed")
            else:
                containers[name] = ContainerStatus(state="down", message="exited")
        ready = sum(1 for c in containers.values() if c.state == "ready")
        if ready == 0 and "dead_reported_absent" in self.bugs:
            return WorkloadStatus(workload=ctx.workload, state="absent")
        state: HealthState = (
            "ready" if ready == len(containers) else "down" if ready == 0 else "partial"
        )
        return WorkloadStatus(workload=ctx.workload, state=state, containers=containers)

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        directory = self._dir(ctx)
        record = self._record(directory) or {"containers": []}
        names = list(record["containers"])
        if container is not None and "logs_ignore_container" not in self.bugs:
            names = [n for n in names if n == container]
        offsets: dict[str, int] = {}
        for name in names:
            path = directory / f"{name}.log"
            data = path.read_bytes() if path.exists() else b""
            complete = data[: data.rfind(b"\n") + 1]
            offsets[name] = len(complete)
            lines = complete.decode(errors="replace").splitlines()
            if tail is not None and "logs_ignore_tail" not in self.bugs:
                lines = lines[-tail:] if tail else []
            for text in lines:
                yield LogLine(container=name, text=text)
        while follow and "logs_ignore_follow" not in self.bugs:
            quiet = True
            for name in names:
                path = directory / f"{name}.log"
                with contextlib.suppress(OSError), path.open("rb") as handle:
                    handle.seek(offsets[name])
                    chunk = handle.read()
                    complete = chunk[: chunk.rfind(b"\n") + 1]
                    offsets[name] += len(complete)
                    for text in complete.decode(errors="replace").splitlines():
                        quiet = False
                        yield LogLine(container=name, text=text)
            if quiet:
                time.sleep(0.1)

    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        if "rollback_is_a_noop" in self.bugs:
            return DeploymentResult(outputs=dict(release.outputs), message="rolled back")
        return self.deploy(ctx, release.workload)

    def destroy(self, ctx: DeployContext) -> None:
        directory = self._dir(ctx)
        if not directory.is_dir():
            if "destroy_of_nothing_raises" in self.bugs:
                raise NotFoundError(f"{ctx.workload} is not deployed")
            return
        if "destroy_leaves_processes" in self.bugs:
            return
        if "destroy_forgets_processes" not in self.bugs:
            for pid_file in self._pid_files(directory):
                self._stop(json.loads(pid_file.read_text()))
                pid_file.unlink()
        if "destroyed_reported_down" in self.bugs:
            return  # the record stays
        shutil.rmtree(directory)

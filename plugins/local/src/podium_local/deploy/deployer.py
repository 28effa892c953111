"""The ``local`` deployer: every container of a workload is a process under supervisord.

deploy: allocate ports, write launcher specs and program configs, sync
supervisord, (re)start only containers whose spec changed, in ``before`` order,
then wait for readiness. A container that exits while the deploy waits for it
cannot start: the deploy stops it and fails with its exit status and the tail
of its log (the workload's secrets masked). Everything it needs later (status,
logs, rollback, destroy from a new ``podium`` invocation) is in the workload
directory and in supervisord itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any, ClassVar

from podium.plugin import (
    REDACTED,
    CancelledError,
    ContainerStatus,
    DeployContext,
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    Finding,
    HealthState,
    LogLine,
    LogSource,
    RenderedWorkload,
    ResourceError,
    Workload,
    WorkloadStatus,
    read_logs,
    stop_process_group,
    tail_lines,
)
from podium_local.deploy.health import (
    prober_conf,
    prober_program,
    prober_spec,
    prober_spec_path,
    process_states,
    read_recorded,
    record_health,
)
from podium_local.deploy.layout import WorkloadDir, program_name
from podium_local.deploy.render import build, materialise
from podium_local.files import private_dir, write_atomic
from podium_local.launch import build_env, read_starts, secret_values
from podium_local.network import HOST
from podium_local.ports import PortRegistry
from podium_local.probes import run_probe
from podium_local.sealing import Sealer
from podium_local.servers.nginx_proxy import refresh_routes
from podium_local.servers.supervisord import Supervisor
from podium_local.settings import Settings

ACTIVE = {"STARTING", "RUNNING", "BACKOFF"}
#: supervisord states after which it starts the process again by itself (EXITED: at once,
#: unless a job completed); STOPPED, FATAL or a missing program need a deploy
SUPERVISED = {*ACTIVE, "STOPPING", "EXITED"}
#: states of a process that has exited (supervisord may start it again)
EXITED = {"BACKOFF", "EXITED", "FATAL"}
STRENGTH = {"started": 1, "healthy": 2, "complete": 3}


def start_order(workload: RenderedWorkload) -> list[str]:
    """Containers sorted so each starts after those its ``before`` names."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ResourceError(f"{workload.name}: the containers' 'before' entries form a cycle")
        visiting.add(name)
        for dependency in workload.containers[name].before:
            if dependency not in workload.containers:
                raise ResourceError(
                    f"{workload.name}.containers.{name}.before: no container {dependency!r}"
                )
            visit(dependency)
        visiting.discard(name)
        order.append(name)

    for name in workload.containers:
        visit(name)
    return order


class LocalDeployer(Deployer):
    name: ClassVar[str] = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> list[Finding]:
        """Every container needs a ``command``: a process runs it, the image is not used.

        So ``image: .`` (an image built from the workload's directory) is fine here, as
        long as the command runs on this machine.
        """
        return [
            Finding(
                "local.command-required",
                f"container {name!r} has no command; the local deployer runs a process, so "
                "set 'command' (the image is not used locally)",
                level="mandatory",
                subject=f"{workload.name}.containers.{name}",
                location=str(workload.location("containers", name)),
            )
            for name, spec in workload.containers.items()
            if not spec.get("command")
        ]

    # --- deploy -----------------------------------------------------------------
    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        env, settings = ctx.env, self.settings
        wdir = WorkloadDir(env, workload.name)
        registry = PortRegistry.for_env(env)
        allocated = {
            name: registry.allocate(workload.name, name, number=port.port)
            for name, port in workload.ports.items()
        }
        sealer = Sealer.for_env(env)
        order = start_order(workload)
        # What each container must reach before its dependants start.
        required: dict[str, str] = {}
        for container in workload.containers.values():
            for dependency, condition in container.before.items():
                if STRENGTH[condition] > STRENGTH.get(required.get(dependency, ""), 0):
                    required[dependency] = condition
        built = {
            name: build(
                workload,
                container,
                wdir=wdir,
                allocated=allocated,
                sealer=sealer,
                settings=settings,
                # A container others wait to complete is a job: restart it only on failure.
                autorestart="unexpected" if required.get(name) == "complete" else "true",
            )
            for name, container in workload.containers.items()
        }
        previous = (wdir.record() or {}).get("containers", {})

        supervisor = Supervisor(env, settings)
        with supervisor.locked():
            supervisor.ensure_running()
            private_dir(wdir.path / "specs")
            (wdir.path / "logs").mkdir(parents=True, exist_ok=True)
            for name, (spec, conf, _digest) in built.items():
                write_atomic(wdir.spec(name), json.dumps(spec, indent=2), mode=0o600)
                write_atomic(
                    supervisor.programs / f"{program_name(workload.name, name)}.conf", conf
                )
            for gone in set(previous) - set(built):
                (supervisor.programs / f"{program_name(workload.name, gone)}.conf").unlink(
                    missing_ok=True
                )
            self._write_prober(supervisor, wdir)
            supervisor.sync_programs()

        containers: dict[str, dict[str, Any]] = {}
        started: set[str] = set()  # containers this deploy (re)starts: any exit is a failure
        for name in order:
            spec, _conf, digest = built[name]
            program = program_name(workload.name, name)
            containers[name] = {
                "program": program,
                "hash": digest,
                "readiness": spec["readiness"],
                "job": required.get(name) == "complete",
            }
            info = supervisor.info(program) or {}
            unchanged = previous.get(name, {}).get("hash") == digest
            done_ok = info.get("statename") == "EXITED" and info.get("exitstatus") == 0
            if unchanged and (
                info.get("statename") in ACTIVE or (done_ok and containers[name]["job"])
            ):
                continue  # same spec, still running: leave it alone
            if info.get("statename") in ACTIVE:
                supervisor.stop(program)
            self._stop_orphan(supervisor, wdir, name, program)
            materialise(spec)
            wdir.starts(name).unlink(missing_ok=True)  # a deliberate start is not a crash loop
            supervisor.start(program)
            started.add(name)
            if name in required:
                self._wait(
                    supervisor,
                    wdir,
                    workload.name,
                    {name: containers[name]},
                    required[name],
                    started,
                    ctx,
                )

        urls = [f"http://{HOST}:{port}" for port in allocated.values()]
        outputs: dict[str, Any] = {"host": HOST, "ports": dict(allocated), "urls": urls}
        if allocated:
            outputs["port"] = next(iter(allocated.values()))
            outputs["url"] = urls[0]
        outputs["logs"] = {n: str(wdir.stdout(n)) for n in workload.containers}
        wdir.save_record(
            {
                "workload": workload.name,
                "release": ctx.release,
                "containers": containers,
                "urls": urls,
                "outputs": outputs,
                "deployed_at": time.time(),
            }
        )
        refresh_routes(env, settings)
        try:
            passed = self._wait(
                supervisor, wdir, workload.name, containers, "healthy", started, ctx
            )
        except ResourceError as exc:
            overridden = _port_overridden(workload, allocated)
            if overridden is None:
                raise
            raise ResourceError(exc.message, hint=f"{overridden}; {exc.hint}") from exc
        finally:
            # Only now: its probes would compete with the deploy's own while it waits.
            self._start_prober(supervisor, workload.name)
        checked_at = time.time()  # when the wait's last, passing round ended
        processes = process_states(wdir, settings, wdir.record() or {})
        # What the wait just saw is the freshest health there is: record it, so that
        # 'podium status' right after the deploy says ready (not what the prober saw
        # while the containers were starting) without probing again.
        self._record_ready(supervisor, wdir, ctx.release, urls, passed, checked_at, processes)
        return DeploymentResult(
            outputs=outputs, urls=urls, message=f"release {ctx.release} running"
        )

    def _write_prober(self, supervisor: Supervisor, wdir: WorkloadDir) -> None:
        """Write (or, with ``health_period = 0``, remove) the workload's health prober program."""
        conf = supervisor.programs / f"{prober_program(wdir.workload)}.conf"
        if not self.settings.health_period:
            conf.unlink(missing_ok=True)
            return
        spec = prober_spec(wdir, self.settings)
        write_atomic(prober_spec_path(wdir), json.dumps(spec, indent=2), mode=0o600)
        write_atomic(conf, prober_conf(wdir, self.settings))

    def _record_ready(
        self,
        supervisor: Supervisor,
        wdir: WorkloadDir,
        release: int,
        urls: list[str],
        passed: dict[str, str],
        checked_at: float,
        processes: dict[str, list[Any]],
    ) -> None:
        prober = (supervisor.info(prober_program(wdir.workload)) or {}).get("pid")
        if not self.settings.health_period or not prober:
            return
        status = WorkloadStatus(
            workload=wdir.workload,
            state="ready",
            urls=urls,
            containers={
                name: ContainerStatus(
                    state="ready", message=message, restarts=_restarts(wdir, name)
                )
                for name, message in passed.items()
            },
            message=f"release {release} ready",
            redeploy=False,
        )
        record_health(wdir, status, checked_at, int(prober), processes)

    def _start_prober(self, supervisor: Supervisor, workload: str) -> None:
        if not self.settings.health_period:
            return
        program = prober_program(workload)
        # Best effort: without a prober, status probes live (and the deploy's outcome stands).
        with suppress(ResourceError, OSError):
            if (supervisor.info(program) or {}).get("statename") not in ACTIVE:
                supervisor.start(program)

    def _stop_orphan(
        self, supervisor: Supervisor, wdir: WorkloadDir, name: str, program: str
    ) -> None:
        """Stop the container's last process if it runs without supervisord knowing it.

        supervisord killed (not shut down) leaves its programs running without a
        parent that knows them; a new start would then find its port taken. The
        launcher recorded its pid and start time, so a reused pid is never hit.
        """
        starts = read_starts(wdir.starts(name))  # before asking supervisord: see below
        pid, born = starts.get("pid"), starts.get("pid_start")
        if not isinstance(pid, int) or not isinstance(born, int):
            return
        # A launcher supervisord spawned after the file was read is one it knows.
        if (supervisor.info(program) or {}).get("pid") == pid:
            return
        # supervisord made the launcher a group leader: its children go with it, also
        # when the launcher itself is gone; a reused pid (another start time) is left alone.
        with suppress(TimeoutError):  # stuck even after KILL: nothing more to do here
            stop_process_group(pid, timeout=self.settings.stop_timeout, started=born)

    def _wait(
        self,
        supervisor: Supervisor,
        wdir: WorkloadDir,
        workload: str,
        containers: dict[str, dict[str, Any]],
        condition: str,
        started: set[str],
        ctx: DeployContext,
    ) -> dict[str, str]:
        """Wait until every container reaches ``condition``; fail with the reason it did not.

        Returns each container's message from the check that passed.

        A container in ``started`` that exits meanwhile cannot start: it is stopped
        (no endless restarts of a command that does not exist) and the deploy fails.
        The wait ends early when the run is cancelled or the engine's deadline comes:
        the deploy then fails and the next ``podium up`` deploys the release again.
        """
        limit = ctx.time_left(self.settings.readiness_timeout) or 0.0
        deadline = time.monotonic() + limit
        while True:
            failures = {}
            passed = {}
            for name, entry in containers.items():
                ok, message, fatal = self._check(
                    supervisor, wdir, name, entry, condition, fresh=name in started
                )
                if fatal:
                    if name in started:
                        message = self._give_up(supervisor, wdir, name, entry)
                    raise ResourceError(
                        f"{workload}: container {name}: {message}",
                        hint=f"see 'podium logs {workload}'",
                    )
                if not ok:
                    failures[name] = message
                passed[name] = message
            if not failures:
                return passed
            if ctx.cancelled:
                raise CancelledError(f"{workload}: cancelled while waiting for readiness")
            if time.monotonic() >= deadline:
                detail = "; ".join(f"container {n}: {m}" for n, m in failures.items())
                raise ResourceError(
                    f"{workload}: not {'ready' if condition == 'healthy' else condition} "
                    f"after {limit:g}s: {detail}",
                    hint=f"see 'podium logs {workload}'",
                )
            ctx.sleep(0.2)

    def _give_up(
        self, supervisor: Supervisor, wdir: WorkloadDir, name: str, entry: dict[str, Any]
    ) -> str:
        """Stop a container that cannot start; return why it cannot (from its log)."""
        program = entry["program"]
        info = supervisor.info(program) or {}  # why it exited, before the stop
        for _ in range(5):  # an EXITED program is restarted at once: stop that start too
            supervisor.stop(program)  # by then supervisord has logged what it printed
            if (supervisor.info(program) or {}).get("statename") not in ACTIVE:
                break
            time.sleep(0.2)
        return f"cannot start: {self._last_error(wdir, name, info)}"

    def _check(
        self,
        supervisor: Supervisor,
        wdir: WorkloadDir,
        name: str,
        entry: dict[str, Any],
        condition: str,
        *,
        fresh: bool = False,
    ) -> tuple[bool, str, bool]:
        """(reached?, message, hopeless?) for one container and a ``before``-style condition.

        ``fresh``: the deploy just started it, so an exit (or a restart after one)
        means it cannot start.
        """
        info = supervisor.info(entry["program"])
        if info is None:
            return False, "not known to supervisord", True
        state = str(info.get("statename"))
        if (
            state == "EXITED"
            and info.get("exitstatus") == 0
            and (entry.get("job") or condition == "complete")
        ):
            return True, "completed", False
        starts = read_starts(wdir.starts(name))
        if fresh and (state in EXITED or int(starts.get("starts", 1)) > 1):
            return False, f"cannot start: {self._last_error(wdir, name, info)}", True
        if state == "FATAL":
            return False, f"failed to start: {self._last_error(wdir, name, info)}", True
        if condition == "complete":
            return False, f"has not completed (state {state})", False
        if state != "RUNNING":
            return False, f"process is {state}: {self._last_error(wdir, name, info)}", False
        waiting = self._launching(starts, info)
        if waiting:
            return False, waiting, False
        if condition == "started" or not entry.get("readiness"):
            return True, "running", False
        spec = json.loads(wdir.spec(name).read_text())
        ok, message = run_probe(
            entry["readiness"],
            timeout=self.settings.probe_timeout,
            env=build_env(spec),
            cwd=spec["cwd"],
        )
        # An exec probe's message quotes its output, which may echo a secret.
        return ok, "readiness probe: " + _mask(message, secret_values(spec)), False

    def _launching(self, starts: dict[str, Any], info: dict[str, Any]) -> str:
        """Why a process supervisord calls RUNNING has not started its command, or ``""``.

        The launcher waits before restarting a crash-looping command, and supervisord
        counts that wait as running; ``startsecs`` counts from the command's start.
        """
        if starts.get("pid") != info.get("pid"):
            return ""  # the starts file describes another process (or an older launcher)
        started_at = starts.get("started_at")
        if started_at is None:
            return f"restarting after {starts.get('streak', 0)} quick exit(s); waiting to retry"
        if time.time() - float(started_at) < self.settings.start_seconds:
            return "starting"
        return ""

    @staticmethod
    def _last_error(wdir: WorkloadDir, name: str, info: dict[str, Any]) -> str:
        """What supervisord and the process's own output say, with its secrets masked."""
        lines = _tail(wdir.stderr(name), 3) or _tail(wdir.stdout(name), 3)
        reason = str(info.get("spawnerr") or info.get("description") or "")
        reason = reason.replace(" (process log may have details)", "")  # the log follows
        return " | ".join([reason, *_masked(lines, wdir.spec(name))]).strip(" |")

    # --- status and logs ----------------------------------------------------------
    def status(self, ctx: DeployContext) -> WorkloadStatus:
        return self.observe(ctx.env, ctx.workload)

    def recorded_status(self, ctx: DeployContext) -> WorkloadStatus | None:
        """What the workload's prober recorded (see :mod:`podium_local.deploy.health`)."""
        if not self.settings.health_period:
            return None
        return read_recorded(WorkloadDir(ctx.env, ctx.workload), self.settings)

    def observe(self, env: EnvironmentInfo, workload: str) -> WorkloadStatus:
        """Check the workload now: supervisord's view and every readiness probe, in parallel."""
        wdir = WorkloadDir(env, workload)
        record = wdir.record()
        if record is None:
            return WorkloadStatus(workload=workload, state="absent", message="not deployed")
        supervisor = Supervisor(env, self.settings)
        if not supervisor.is_running():
            return WorkloadStatus(
                workload=workload,
                state="down",
                urls=record.get("urls", []),
                message="supervisord is not running (machine restarted?)",
                redeploy=True,
            )

        def check(item: tuple[str, dict[str, Any]]) -> tuple[bool, str, dict[str, Any]]:
            name, entry = item
            ok, message, _ = self._check(supervisor, wdir, name, entry, "healthy")
            return ok, message, supervisor.info(entry["program"]) or {}

        entries = list(record["containers"].items())
        if len(entries) > 1:
            with ThreadPoolExecutor(max_workers=min(len(entries), 8)) as pool:
                results = list(pool.map(check, entries))
        else:
            results = [check(item) for item in entries]
        containers: dict[str, ContainerStatus] = {}
        stopped: list[str] = []  # containers nothing restarts: a deploy must start them
        for (name, _entry), (ok, message, info) in zip(entries, results, strict=True):
            if not ok and info.get("statename") not in SUPERVISED:
                stopped.append(name)
            containers[name] = ContainerStatus(
                state="ready" if ok else "down", message=message, restarts=_restarts(wdir, name)
            )
        ready = sum(1 for c in containers.values() if c.state == "ready")
        state: HealthState = (
            "ready" if ready == len(containers) else ("down" if ready == 0 else "partial")
        )
        problems = [f"{n}: {c.message}" for n, c in containers.items() if c.state != "ready"]
        return WorkloadStatus(
            workload=workload,
            state=state,
            urls=record.get("urls", []),
            containers=containers,
            message="; ".join(problems) or f"release {record.get('release')} ready",
            redeploy=bool(stopped),
        )

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        wdir = WorkloadDir(ctx.env, ctx.workload)
        record = wdir.record()
        if record is None:
            return
        names = list(record["containers"])
        if container is not None:
            if container not in names:
                raise ResourceError(
                    f"{ctx.workload} has no container {container!r} (it has {', '.join(names)})"
                )
            names = [container]
        # supervisord keeps no time per line: lines read while following are stamped
        # with the time they were read; earlier lines have no time to give.
        sources = [LogSource(n, wdir.stdout(n), "stdout") for n in names] + [
            LogSource(n, wdir.stderr(n), "stderr") for n in names
        ]
        yield from read_logs(sources, tail=tail, follow=follow, stop=lambda: ctx.cancelled)

    # --- destroy --------------------------------------------------------------------
    def destroy(self, ctx: DeployContext) -> None:
        wdir = WorkloadDir(ctx.env, ctx.workload)
        supervisor = Supervisor(ctx.env, self.settings)
        with supervisor.locked():
            confs = list(supervisor.programs.glob(f"{program_name(ctx.workload, '')}*.conf"))
            for conf in confs:
                conf.unlink()
            if confs and supervisor.is_running():
                supervisor.sync_programs()  # stops (TERM, then KILL) and removes the groups
            # What still runs is not supervisord's any more (it died, or was killed).
            for name, entry in (wdir.record() or {}).get("containers", {}).items():
                self._stop_orphan(supervisor, wdir, name, entry["program"])
            if supervisor.home.exists():
                supervisor.shutdown_if_idle()
        WorkloadDir(ctx.env, ctx.workload).remove()
        PortRegistry.for_env(ctx.env).release(ctx.workload)
        refresh_routes(ctx.env, self.settings)


def _tail(path: Path, count: int) -> list[str]:
    return tail_lines(path, count)


def _masked(lines: list[str], spec_path: Path) -> list[str]:
    """Output lines with the container's secrets (from its launcher spec) as ``(sensitive)``.

    They end up in errors, history and events; when the secrets cannot be read to
    mask them, the lines are not shown at all.
    """
    if not lines:
        return []
    try:
        secrets = secret_values(json.loads(spec_path.read_text()))
    except Exception:  # unreadable spec or key: fail closed
        return ["(output not shown: the container's secrets could not be read to mask them)"]
    return [_mask(line, secrets) for line in lines]


def _mask(text: str, secrets: list[str]) -> str:
    for value in sorted(filter(None, secrets), key=len, reverse=True):  # longest first
        text = text.replace(value, REDACTED)
    return text


def _restarts(wdir: WorkloadDir, name: str) -> int:
    try:
        return max(0, int(json.loads(wdir.starts(name).read_text()).get("starts", 1)) - 1)
    except (FileNotFoundError, ValueError):
        return 0


def _port_overridden(workload: RenderedWorkload, allocated: dict[str, int]) -> str | None:
    """Why the app may listen on the wrong port: its Score file sets ``PORT`` itself.

    The port contract: podium-local assigns each Score port and tells the process in
    ``PORT``; a ``PORT`` variable wins over that (it is the workload's own setting), so
    the app listens where the probes and URLs do not look.
    """
    if not allocated:
        return None
    assigned = str(next(iter(allocated.values())))
    for name, container in workload.containers.items():
        value = container.variables.get("PORT")
        if isinstance(value, str) and value != assigned:
            return (
                f"container {name} sets variables.PORT = {value!r}, which overrides the port "
                f"podium-local assigned ({assigned}): remove PORT from the Score file's "
                "variables and listen on $PORT"
            )
    return None

"""Recorded health: a prober supervised next to each workload, and reading what it wrote.

``podium status`` should answer from what is already known, as ``kubectl get`` does,
instead of running every readiness probe in the ``podium`` process. So each deployed
workload gets one more supervisord program, ``<workload>___health`` (a container
program's name can never end like this: container names start with a letter or a
digit), running ``python -m podium_local.deploy.health SPEC``. It checks the workload
exactly as :meth:`LocalDeployer.status` does live — supervisord's view of every
container plus its readiness probe — every ``health_period`` seconds, and replaces
``health.json`` in the workload directory atomically (a deploy records what its own
readiness wait saw last, so ``status`` right after it needs no probe)::

    {"checked_at": <epoch seconds>, "deployed_at": <the record's>,
     "prober": [<pid>, <its start time>],
     "processes": {<container>: [<supervisord state>, <pid>]}, "status": {...}}

:func:`read_recorded` trusts that file only while it is fresh (younger than
:func:`stale_after`), describes the deploy that is recorded now, and the prober that
keeps it current still runs (a killed supervisord stops it: then the record is not
used even if it is a second old), and supervisord still reports every container's
process in the state and with the pid it had then (one cheap call per container, no
probe: a process stopped or restarted since shows at once); otherwise the caller
probes live. The prober exits when the
workload's record is gone (destroy) and is stopped with the workload's programs.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.plugin import EnvironmentInfo, WorkloadStatus, process_start_time, write_atomic
from podium_local.deploy.layout import WorkloadDir, program_name
from podium_local.settings import Settings

if TYPE_CHECKING:
    from podium_local.deploy.deployer import LocalDeployer

#: the prober's "container" part of its program name (see the module docstring)
PROBER = "_health"


def prober_program(workload: str) -> str:
    return program_name(workload, PROBER)


def health_path(wdir: WorkloadDir) -> Path:
    return wdir.path / "health.json"


def prober_spec_path(wdir: WorkloadDir) -> Path:
    return wdir.path / "specs" / f"{PROBER}.json"


def stale_after(settings: Settings) -> float:
    """Seconds after which a record is not trusted: three missed periods and a slow probe."""
    return 3 * settings.health_period + settings.probe_timeout


def prober_spec(wdir: WorkloadDir, settings: Settings) -> dict[str, Any]:
    """What the prober needs to rebuild the environment and the deployer's settings."""
    env = wdir.env
    return {
        "env": {
            "platform": env.platform,
            "environment": env.environment,
            "state_dir": str(env.state_dir),
            "tier": env.tier,
        },
        "workload": wdir.workload,
        "settings": settings.model_dump(mode="json"),
    }


def prober_command(spec_path: Path) -> list[str]:
    return [sys.executable, "-m", "podium_local.deploy.health", str(spec_path)]


def prober_conf(wdir: WorkloadDir, settings: Settings) -> str:
    """The supervisord program of the workload's prober (it runs as podium does)."""
    from podium_local.servers.supervisord import escape

    command = " ".join(shlex.quote(part) for part in prober_command(prober_spec_path(wdir)))
    logs = wdir.path / "logs"
    return "\n".join(
        [
            f"[program:{prober_program(wdir.workload)}]",
            f"command={escape(command, f'{wdir.workload}: the health prober command')}",
            f"directory={escape(str(wdir.path))}",
            "autostart=false",
            "autorestart=unexpected",  # it exits 0 once the workload is destroyed
            "exitcodes=0",
            "startsecs=0",
            f"startretries={settings.start_retries}",
            "stopsignal=TERM",
            f"stopwaitsecs={settings.stop_timeout}",
            "stopasgroup=true",  # with the exec probe it may be running
            "killasgroup=true",
            f"stdout_logfile={escape(str(logs / (PROBER + '.log')))}",
            f"stderr_logfile={escape(str(logs / (PROBER + '.err.log')))}",
            "stdout_logfile_maxbytes=1MB",
            "stderr_logfile_maxbytes=1MB",
            "stdout_logfile_backups=1",
            "stderr_logfile_backups=1",
            "",
        ]
    )


def read_recorded(
    wdir: WorkloadDir, settings: Settings, now: float | None = None
) -> WorkloadStatus | None:
    """The recorded health of the deploy recorded now, or ``None`` when there is none to trust."""
    record = wdir.record()
    if record is None:
        return None  # not deployed: the live answer ("absent") is as cheap
    try:
        health = json.loads(health_path(wdir).read_text())
        checked_at = float(health["checked_at"])
        if health.get("deployed_at") != record.get("deployed_at"):
            return None  # recorded before the last deploy
        if (now if now is not None else time.time()) - checked_at > stale_after(settings):
            return None  # the prober stopped recording (dead, or supervisord is down)
        pid, started = health["prober"]
        if process_start_time(int(pid)) != started:
            return None  # the prober is gone (supervisord stopped or killed): nothing watches
        if process_states(wdir, settings, record) != health["processes"]:
            return None  # a process stopped, exited or restarted since: that needs a probe
        status = WorkloadStatus.model_validate(health["status"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing, half-written by an older version, or damaged: probe live
    return status.model_copy(update={"checked_at": datetime.fromtimestamp(checked_at, UTC)})


def process_states(
    wdir: WorkloadDir, settings: Settings, record: dict[str, Any]
) -> dict[str, list[Any]]:
    """supervisord's ``[state, pid]`` of every container: one cheap call each, no probe.

    A record is used only while these are what they were when it was checked, so a
    process stopped or crashed behind Podium's back shows at once, not a period later.
    """
    from podium_local.servers.supervisord import Supervisor

    supervisor = Supervisor(wdir.env, settings)
    states = {}
    for name, entry in record.get("containers", {}).items():
        info = supervisor.info(entry["program"]) or {}
        states[name] = [info.get("statename"), info.get("pid")]
    return states


def record_health(
    wdir: WorkloadDir,
    status: WorkloadStatus,
    checked_at: float,
    prober_pid: int,
    processes: dict[str, list[Any]],
) -> None:
    """Write ``health.json``, unless it already holds a newer observation.

    ``prober_pid`` is the prober's process: the record is trusted only while it runs;
    ``processes`` are :func:`process_states` taken before the check.
    """
    record = wdir.record()
    started = process_start_time(prober_pid)
    if record is None or started is None or _recorded_at(wdir) > checked_at:
        return  # destroyed, no prober to keep it current, or the deploy recorded later
    health = {
        "checked_at": checked_at,
        "deployed_at": record.get("deployed_at"),
        "prober": [prober_pid, started],
        "processes": processes,
        "status": status.model_dump(mode="json", exclude={"checked_at"}),
    }
    write_atomic(health_path(wdir), json.dumps(health, indent=2), mode=0o600)


def record_once(deployer: LocalDeployer, wdir: WorkloadDir) -> bool:
    """The prober's check: observe the workload now and record it; ``False`` once it is
    not deployed any more."""
    record = wdir.record()
    if record is None:
        return False
    checked_at = time.time()
    processes = process_states(wdir, deployer.settings, record)
    status = deployer.observe(wdir.env, wdir.workload)
    record_health(wdir, status, checked_at, os.getpid(), processes)
    return True


def _recorded_at(wdir: WorkloadDir) -> float:
    try:
        return float(json.loads(health_path(wdir).read_text())["checked_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


def run(spec: dict[str, Any]) -> int:
    """The prober's loop (inside supervisord): record, then wait a period or for a deploy."""
    from podium_local.deploy.deployer import LocalDeployer

    info = spec["env"]
    env = EnvironmentInfo(
        platform=info["platform"],
        environment=info["environment"],
        state_dir=Path(info["state_dir"]),
        tier=info.get("tier", "dev"),
    )
    settings = Settings.model_validate(spec["settings"])
    deployer = LocalDeployer(settings)
    wdir = WorkloadDir(env, spec["workload"])
    # A deploy that just recorded its own check: the first one here can wait a period
    # (probing at once would compete with the 'podium up' that is checking readiness).
    time.sleep(
        max(
            0.0,
            min(settings.health_period, _recorded_at(wdir) + settings.health_period - time.time()),
        )
    )
    while record_once(deployer, wdir):
        time.sleep(settings.health_period)
    return 0  # destroyed: exit 0, which supervisord does not restart


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m podium_local.deploy.health SPEC_FILE", file=sys.stderr)
        return 2
    return run(json.loads(Path(args[0]).read_text()))


if __name__ == "__main__":
    raise SystemExit(main())

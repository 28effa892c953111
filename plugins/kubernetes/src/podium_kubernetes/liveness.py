"""podman mode: liveness probes that restart containers, as a kubelet's would.

``podman kube play`` turns a ``livenessProbe`` into Podman's health check with a
restart on failure, but (Podman 4) as a shell line made by joining the probe's words
with spaces, and an ``httpGet`` into ``curl``, which few images have. So the pod
podman mode runs gets its liveness probes rewritten: a command becomes one
shell-quoted line (joined again, it is the same command), an HTTP GET a ``wget`` by
the host's static busybox, mounted read-only (the pod shares the host's network,
so ``127.0.0.1:<port>`` is the container's port).

Podman runs health checks from systemd timers, which need systemd as init; where
there is none (containers, CI) this module also runs as a small process per pod
(``python -m podium_kubernetes.liveness <pod> <container>=<seconds>...``) that runs
each check on time with ``podman healthcheck run`` and brings back a container that
failed its checks when Podman could not. It ends when the pod is gone.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from podium.plugin import process_start_time, stop_process_group, write_atomic

#: Where the host's busybox is mounted in containers with an HTTP liveness probe.
BUSYBOX_TARGET = "/run/podium/busybox"
BUSYBOX_VOLUME = "podium-busybox"
#: A kubelet's default probe period and failure threshold.
DEFAULT_PERIOD = 10
DEFAULT_FAILURES = 3


def rewrite_for_podman(spec: dict[str, Any], busybox: str) -> dict[str, int]:
    """Rewrite the pod spec's liveness probes (in place) for kube play; returns
    container name -> probe period in seconds, for the containers that have one."""
    periods: dict[str, int] = {}
    needs_busybox = False
    for container in spec.get("containers", []):
        probe = container.get("livenessProbe")
        if not probe:
            continue
        periods[container["name"]] = int(probe.get("periodSeconds") or DEFAULT_PERIOD)
        if "httpGet" in probe:
            http = probe.pop("httpGet")
            scheme = str(http.get("scheme", "HTTP")).lower()
            path = str(http.get("path") or "/")
            url = f"{scheme}://{http.get('host') or '127.0.0.1'}:{http['port']}{path}"
            fetch = [BUSYBOX_TARGET, "wget", "-q", "-O", "/dev/null"]
            for header in http.get("httpHeaders") or []:
                fetch += ["--header", f"{header['name']}: {header['value']}"]
            if scheme == "https":
                fetch.append("--no-check-certificate")
            probe["exec"] = {"command": [shlex.join([*fetch, url])]}
            container.setdefault("volumeMounts", []).append(
                {"name": BUSYBOX_VOLUME, "mountPath": BUSYBOX_TARGET, "readOnly": True}
            )
            needs_busybox = True
        elif "exec" in probe:
            probe["exec"] = {"command": [shlex.join(probe["exec"].get("command") or [])]}
    if needs_busybox:
        spec.setdefault("volumes", []).append(
            {"name": BUSYBOX_VOLUME, "hostPath": {"path": busybox, "type": "File"}}
        )
    return periods


class LivenessRunner:
    """The per-pod process that runs the health checks on time (started, found, stopped)."""

    def __init__(self, state_dir: Path, pod: str) -> None:
        self.pid_file = state_dir / f"{pod}.liveness.pid"
        self.log_file = state_dir / f"{pod}.liveness.log"
        self.pod = pod

    def _recorded(self) -> tuple[int, int] | None:
        try:
            pid, started = self.pid_file.read_text().split()
            return int(pid), int(started)
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        recorded = self._recorded()
        return recorded is not None and process_start_time(recorded[0]) == recorded[1]

    def start(self, periods: dict[str, int]) -> None:
        """(Re)start the runner for these containers of the pod."""
        self.stop()
        if not periods:
            return
        argv = [sys.executable, "-m", "podium_kubernetes.liveness", self.pod]
        argv += [f"{name}={seconds}" for name, seconds in sorted(periods.items())]
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        write_atomic(self.pid_file, f"{process.pid} {process_start_time(process.pid)}\n")

    def stop(self) -> None:
        recorded = self._recorded()
        if recorded is not None:
            with suppress(TimeoutError, ProcessLookupError, PermissionError):
                stop_process_group(recorded[0], timeout=5, started=recorded[1])
        self.pid_file.unlink(missing_ok=True)


def _podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], capture_output=True, text=True, check=False, timeout=120
    )


def _run_state(container: str) -> tuple[bool, str]:
    """Whether the container runs, and which run it is (its start time)."""
    found = _podman("inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", container)
    running, _, started = found.stdout.strip().partition(" ")
    return running == "true", started


def _log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    print(f"{stamp} {message}", flush=True)


def _recover(container: str, failed_run: str) -> bool:
    """Bring back a container that failed its liveness checks; True once it runs anew.

    Podman restarts it itself (the on-failure action kube play sets), but a kube-play pod
    stops its infra container when its last container stops, and Podman's restart then
    fails ("cannot get namespace path ... container is stopped"). ``podman start``
    starts the infra container first, so that is what a stopped one gets here."""
    deadline = time.monotonic() + 5
    while True:
        running, started = _run_state(container)
        if running and started != failed_run:
            return True
        if time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    _log(f"{container}: restarting after failed liveness checks")
    action = "restart" if running else "start"
    done = _podman(action, container)
    if done.returncode != 0:
        _log(f"{container}: podman {action}: {done.stderr.strip()}")
        return False
    return True


def run(pod: str, periods: dict[str, int]) -> None:
    """Run each container's health check every period while the pod exists.

    Like a kubelet, a container that failed ``DEFAULT_FAILURES`` checks in a row is
    brought back (see ``_recover``), and a failed recovery is tried again at the next
    period. A podman error (a busy lock, a timeout) is logged and retried; only "no such
    pod" ends the loop."""
    due = {name: time.monotonic() + seconds for name, seconds in periods.items()}
    streaks: dict[str, tuple[int, str]] = {}  # container -> (failures in a row, its run)
    unrecovered: dict[str, str] = {}  # container -> the run that failed its checks
    while True:
        try:
            exists = _podman("pod", "exists", pod)
        except subprocess.TimeoutExpired:
            exists = subprocess.CompletedProcess([], 125)
        if exists.returncode == 1:
            return
        now = time.monotonic()
        for name, at in due.items():
            if now < at:
                continue
            due[name] = now + periods[name]
            container = f"{pod}-{name}"
            if name in unrecovered:
                if _recover(container, unrecovered[name]):
                    del unrecovered[name]
                continue
            try:
                checked = _podman("healthcheck", "run", container)
            except subprocess.TimeoutExpired:
                _log(f"{container}: the health check timed out")
                continue
            turned = "turned unhealthy" in checked.stderr  # Podman's restart failed
            if checked.returncode == 0:
                streaks.pop(name, None)
                continue
            if checked.returncode != 1 and not turned:  # podman itself failed
                _log(f"{container}: podman healthcheck run: {checked.stderr.strip()}")
                continue
            failures, failed_run = streaks.get(name, (0, ""))
            failed_run = failed_run or _run_state(container)[1]
            failures += 1
            _log(f"{container}: liveness check failed ({failures} in a row)")
            if failures < DEFAULT_FAILURES and not turned:
                streaks[name] = (failures, failed_run)
                continue
            streaks.pop(name, None)
            if not _recover(container, failed_run):
                unrecovered[name] = failed_run
        time.sleep(max(0.2, min(due.values()) - time.monotonic()))


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: liveness <pod> <container>=<seconds>...", file=sys.stderr)
        return 2
    periods = {}
    for item in argv[1:]:
        name, _, seconds = item.partition("=")
        periods[name] = max(1, int(seconds))
    run(argv[0], periods)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

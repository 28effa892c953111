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
each check on time with ``podman healthcheck run``; Podman counts the failures and
restarts the container. It ends when the pod is gone.
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


def run(pod: str, periods: dict[str, int]) -> None:
    """Run each container's health check every period while the pod exists."""
    due = {name: time.monotonic() + seconds for name, seconds in periods.items()}
    while True:
        exists = subprocess.run(["podman", "pod", "exists", pod], capture_output=True, check=False)
        if exists.returncode != 0:
            return
        now = time.monotonic()
        for name, at in due.items():
            if now >= at:
                due[name] = now + periods[name]
                # exit 1 is "unhealthy": Podman restarts the container once it has
                # failed its retries; nothing to do here
                with suppress(subprocess.TimeoutExpired):
                    subprocess.run(
                        ["podman", "healthcheck", "run", f"{pod}-{name}"],
                        capture_output=True,
                        check=False,
                        timeout=120,
                    )
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

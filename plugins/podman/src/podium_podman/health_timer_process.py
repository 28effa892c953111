"""Start, find again and stop an environment's health timer process (see health_timer).

Like the Podman service, it runs in a session of its own (a ``podium`` command ending
does not stop it), recorded by pid and start time in the deployer's state directory,
and it writes to ``health-timer.log`` there.
"""

from __future__ import annotations

import subprocess
import sys
from contextlib import suppress

from podium.plugin import DeployerState, process_start_time, stop_process_group, write_atomic

PID_FILE = "health-timer.pid"


class HealthTimerProcess:
    def __init__(self, state: DeployerState, scope: str) -> None:
        self.state = state
        self.scope = scope

    def _recorded(self) -> tuple[int, int] | None:
        text = self.state.read_text(PID_FILE)
        try:
            pid, started = (text or "").split()
            return int(pid), int(started)
        except ValueError:
            return None

    def running(self) -> bool:
        recorded = self._recorded()
        return recorded is not None and process_start_time(recorded[0]) == recorded[1]

    def ensure_running(self, url: str) -> None:
        """Start the timer for the Podman API at ``url`` unless it runs already."""
        with self.state.lock("health-timer"):
            if self.running():
                return
            with open(self.state.file("health-timer.log"), "ab") as log:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "podium_podman.health_timer",
                        url,
                        self.scope,
                        str(self.state.path),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            started = process_start_time(process.pid)
            write_atomic(self.state.file(PID_FILE), f"{process.pid} {started}\n")

    def stop(self) -> None:
        with self.state.lock("health-timer"):
            recorded = self._recorded()
            if recorded is not None:
                with suppress(TimeoutError, ProcessLookupError, PermissionError):
                    stop_process_group(recorded[0], timeout=5, started=recorded[1])
            self.state.remove(PID_FILE)
            self.state.remove("liveness.json")

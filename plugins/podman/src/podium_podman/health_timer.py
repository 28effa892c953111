"""Runs the liveness checks of an environment's containers on time, where Podman does not.

Podman schedules health checks with systemd timers, so without systemd as init (as in
most containers and CI machines) they never run and ``health_check_on_failure_action``
never fires. podium-podman then starts this small process, one per environment, next
to its Podman service (``python -m podium_podman.health_timer <socket url> <scope>
<state dir>``): every container of the scope labelled ``dev.podium.liveness`` has
its health check run through Podman's API once per interval (the label's value, in
seconds). Podman itself counts the failures, honours the start period and restarts
the container once it turns unhealthy; this process only keeps time, and counts the
restarts it saw (by container id) in ``liveness.json`` for ``podium status``.

It ends by itself when no such container has run for a while, or when the API stops
answering (the service was stopped): the next deploy starts it again when needed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

#: Seconds without any liveness-checked container (or without an answering API) before
#: the timer ends.
IDLE_EXIT = 30.0
TICK = 1.0
RESTARTS_FILE = "liveness.json"


class Timer:
    """The schedule: when each container's next check is due, and the restarts seen."""

    def __init__(self, api: Any, scope: str, state_dir: Path) -> None:
        self.api = api
        self.scope = scope
        self.state_dir = state_dir
        self.due: dict[str, float] = {}
        self.restarts: dict[str, int] = _read_restarts(state_dir)

    def containers(self) -> list[tuple[str, float, str]]:
        """(name, interval, id) of the scope's running liveness-checked containers."""
        from podium_podman.spec import LIVENESS_LABEL

        filters = {
            "label": [f"dev.podium.scope={self.scope}", LIVENESS_LABEL],
            "status": ["running"],
        }
        found = []
        for item in self.api.containers(filters=filters):
            names = [n.lstrip("/") for n in item.get("Names") or []]
            try:
                interval = float((item.get("Labels") or {}).get(LIVENESS_LABEL, ""))
            except ValueError:
                continue
            if names and interval > 0:
                found.append((names[0], interval, str(item.get("Id", ""))))
        return found

    def tick(self, now: float) -> int:
        """Run the checks that are due; how many liveness-checked containers run."""
        running = self.containers()
        for name, interval, ident in running:
            due = self.due.setdefault(ident, now + interval)
            if now < due:
                continue
            self.due[ident] = now + interval
            if self.check(name) == "unhealthy":
                self.restarted(ident)
        alive = {ident for _, _, ident in running}
        self.due = {k: v for k, v in self.due.items() if k in alive}
        return len(running)

    def check(self, name: str) -> str:
        """Run one health check; Podman applies the on-failure action when it turns unhealthy."""
        url = self.api._url("/libpod/containers/{0}/healthcheck", name)
        response = self.api._get(url)
        if response.status_code >= 400:
            return "error"
        return str(response.json().get("Status", ""))

    def restarted(self, ident: str) -> None:
        """Podman restarts an unhealthy container within the check's call: count it."""
        self.restarts[ident] = self.restarts.get(ident, 0) + 1
        target = self.state_dir / RESTARTS_FILE
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.restarts, sort_keys=True))
        temporary.replace(target)


def _read_restarts(state_dir: Path) -> dict[str, int]:
    try:
        data = json.loads((state_dir / RESTARTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def liveness_restarts(state_dir: Path) -> dict[str, int]:
    """Container id -> restarts the timer saw Podman make for a failed liveness check."""
    return _read_restarts(state_dir)


def run(url: str, scope: str, state_dir: Path, *, idle_exit: float = IDLE_EXIT) -> None:
    from podium_podman.client import api_client

    api = api_client(url)
    timer = Timer(api, scope, state_dir)
    last_busy = time.monotonic()
    while time.monotonic() - last_busy < idle_exit:
        now = time.monotonic()
        try:
            if timer.tick(now):
                last_busy = now
        except Exception as exc:  # the API is gone or failed: try again until idle_exit
            print(f"health timer: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        time.sleep(TICK)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: health_timer <socket url> <scope> <state dir>", file=sys.stderr)
        return 2
    run(argv[0], argv[1], Path(argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

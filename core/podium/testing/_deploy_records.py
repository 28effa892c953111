"""What the deployer kit's fixture processes wrote: which ran, when, with what, and are they alive.

The kit's view of :mod:`podium.testing.deploy_fixture`'s records. It also stops
every fixture process still running when a check ends (:meth:`FixtureRecords.reap`),
so a broken deployer never leaves processes behind the kit. Processes are told
apart by pid *and* start time: a pid reused by another process is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podium.testing import deploy_fixture as program


@dataclass(frozen=True)
class RecordedProcess:
    """One process the fixture program ran as (one start of one container)."""

    container: str
    pid: int
    ticks: int | None
    path: Path

    def start(self) -> dict[str, Any] | None:
        """Its start record, ``None`` while it has not written it yet."""
        return _read_json(self.path / program.START)

    @property
    def started_at(self) -> float:
        start = self.start()
        return float(start["started_at"]) if start else float("inf")

    @property
    def release(self) -> str:
        """The workload release it runs (its ``KIT_RELEASE`` variable), ``?`` if unknown."""
        start = self.start() or {}
        return str(start.get("shown", {}).get("KIT_RELEASE", "?"))

    def env_digests(self) -> dict[str, str]:
        return dict((self.start() or {}).get("env", {}))

    def ready_at(self) -> float | None:
        ready = _read_json(self.path / program.READY)
        return float(ready["at"]) if ready else None

    def exit(self) -> dict[str, Any] | None:
        return _read_json(self.path / program.EXIT)

    def signals(self) -> list[str]:
        try:
            lines = (self.path / program.SIGNALS).read_text().splitlines()
        except OSError:
            return []
        return [json.loads(line)["signal"] for line in lines if line.strip()]

    def running(self) -> bool:
        return program.is_running(self.pid, self.ticks)

    def send(self, sig: signal.Signals) -> None:
        """Signal this very process (never its group: it may be the caller's)."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def describe(self) -> str:
        return f"pid {self.pid} (release {self.release})"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class FixtureRecords:
    """The records directory the kit hands the fixture program (``--records``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def processes(self, container: str | None = None) -> list[RecordedProcess]:
        """Every process that ran, oldest first; known from its directory's name at once."""
        found = []
        base = self.root / program.INSTANCES
        for path in base.iterdir() if base.is_dir() else ():
            name, _, rest = path.name.partition(".")
            pid, _, ticks = rest.partition(".")
            if container is not None and name != container:
                continue
            if not pid.isdigit() or not ticks.isdigit():
                continue
            # Without /proc the third part is a timestamp, not start ticks: not comparable.
            known = int(ticks) if os.path.exists("/proc/self/stat") else None
            found.append(RecordedProcess(name, int(pid), known, path))
        return sorted(found, key=lambda p: (p.started_at, p.pid))

    def running(self, container: str | None = None) -> list[RecordedProcess]:
        return [p for p in self.processes(container) if p.running()]

    def by_container(self, processes: Iterable[RecordedProcess]) -> dict[str, list[str]]:
        shown: dict[str, list[str]] = {}
        for process in processes:
            shown.setdefault(process.container, []).append(process.describe())
        return shown

    def reap(self, rounds: int = 3) -> list[RecordedProcess]:
        """KILL every fixture process still running; return the ones that were.

        Repeated a few times: a process started just before may not have written
        its directory yet, and a supervisor may start one again.
        """
        left: dict[tuple[int, int | None], RecordedProcess] = {}
        for _ in range(rounds):
            running = self.running()
            if not running:
                break
            for process in running:
                left[(process.pid, process.ticks)] = process
                process.send(signal.SIGKILL)
            wait_until(lambda: not self.running(), 5.0)
            time.sleep(0.3)
        return list(left.values())


def wait_until(predicate: Callable[[], object], timeout: float, every: float = 0.1) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)

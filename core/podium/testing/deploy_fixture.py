"""The deployer kit's fixture workload: a real process that writes down what happens to it.

:class:`~podium.testing.conformance.ProcessDeployerConformance` deploys containers
whose command runs this file, so the kit can check a deployer's answers against
what really happened. Each process it starts writes, under ``RECORDS/instances/
<container>.<pid>.<start ticks>/``:

* ``start.json`` when it starts: its pid and start time, a SHA-256 digest of every
  environment variable (values are never written: the kit compares digests, so no
  secret lands on disk), the plain values of the variables named with ``--show``;
* ``beat``, rewritten every 0.2 s while it runs (its heartbeat);
* ``ready.json`` once ``--ready-after`` seconds have passed (what ``probe`` checks);
* ``signals.jsonl``, one line per signal received (TERM, INT, HUP, USR1);
* ``exit.json`` when it ends by itself or on a signal, with the exit code.

It prints ``kit-log <container> line <n>`` ``--log-lines`` times when it starts,
and ``kit-log <container> poke <n>`` on every SIGUSR1 (how the kit checks that
``logs(follow=True)`` yields new lines). With ``--ignore-term`` it notes SIGTERM and
keeps running, so only a KILL stops it.

Standard library only, and importing nothing of Podium: the kit copies this file
next to its records, so any interpreter the workload runs as (another user's, a
system Python) can run it. Usage::

    python deploy_fixture.py run --records DIR --container NAME [options]
    python deploy_fixture.py probe --records DIR --container NAME
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

INSTANCES = "instances"
START = "start.json"
READY = "ready.json"
EXIT = "exit.json"
SIGNALS = "signals.jsonl"
BEAT = "beat"
LOG_PREFIX = "kit-log"
HEARTBEAT_SECONDS = 0.2
RECORDED_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGUSR1")


def digest(value: str) -> str:
    """The digest the fixture records for an environment value (and the kit compares)."""
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


def process_start_ticks(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), ``None`` without ``/proc`` or if gone.

    A pid and its start time name one process: a later process reusing the pid differs.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def is_running(pid: int, ticks: int | None) -> bool:
    """Whether the process ``pid`` that started at ``ticks`` still runs (a zombie does not)."""
    if os.path.exists("/proc/self/stat"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        fields = stat.rsplit(")", 1)[1].split()
        return fields[0] not in ("Z", "X") and (ticks is None or int(fields[19]) == ticks)
    try:  # no /proc (macOS): ask the kernel
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` whole, so a reader never sees half a record."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data))
    os.replace(temporary, path)


class Instance:
    """This process: where its records go and what it was asked to do."""

    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.container: str = options.container
        self.pid = os.getpid()
        ticks = process_start_ticks(self.pid)
        name = f"{self.container}.{self.pid}.{ticks if ticks is not None else time.time_ns()}"
        self.dir = Path(options.records) / INSTANCES / name
        self.ticks = ticks
        self.pokes = 0

    def record_start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_json(
            self.dir / START,
            {
                "container": self.container,
                "pid": self.pid,
                "ticks": self.ticks,
                "started_at": time.time(),
                "env": {name: digest(value) for name, value in os.environ.items()},
                "shown": {n: os.environ[n] for n in self.options.show if n in os.environ},
                "cwd": os.getcwd(),
            },
        )

    def finish(self, code: int, cause: str) -> None:
        write_json(self.dir / EXIT, {"at": time.time(), "code": code, "cause": cause})

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        with (self.dir / SIGNALS).open("a") as handle:
            handle.write(json.dumps({"signal": name, "at": time.time()}) + "\n")
        if name == "SIGUSR1":
            self.pokes += 1
            print(f"{LOG_PREFIX} {self.container} poke {self.pokes}", flush=True)
            return
        if name == "SIGTERM" and self.options.ignore_term:
            return
        self.finish(0, name)
        raise SystemExit(0)

    def run(self) -> int:
        self.record_start()  # first: a signal handler writes into the instance's directory
        for name in RECORDED_SIGNALS:
            signal.signal(getattr(signal, name), self.on_signal)
        for number in range(1, self.options.log_lines + 1):
            print(f"{LOG_PREFIX} {self.container} line {number}", flush=True)
        began = time.monotonic()
        ready = False
        while True:
            elapsed = time.monotonic() - began
            if not ready and elapsed >= self.options.ready_after:
                write_json(self.dir / READY, {"at": time.time()})
                ready = True
            if self.options.exit_after is not None and elapsed >= self.options.exit_after:
                self.finish(self.options.exit_code, "exit-after")
                return int(self.options.exit_code)
            (self.dir / BEAT).write_text(str(time.time()))
            time.sleep(HEARTBEAT_SECONDS)


def instance_dirs(records: Path, container: str) -> list[Path]:
    return sorted((records / INSTANCES).glob(f"{container}.*"))


def probe(options: argparse.Namespace) -> int:
    """Exit 0 when a running instance of the container has become ready."""
    for directory in instance_dirs(Path(options.records), options.container):
        try:
            start = json.loads((directory / START).read_text())
        except (OSError, ValueError):
            continue
        if (directory / READY).exists() and is_running(int(start["pid"]), start.get("ticks")):
            return 0
    print(f"no running instance of {options.container} is ready", file=sys.stderr)
    return 1


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description="The Podium deployer kit's fixture workload.")
    commands = parse.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run as one container of the kit's workload")
    check = commands.add_parser("probe", help="the readiness probe: is an instance ready?")
    for sub in (run, check):
        sub.add_argument("--records", required=True, help="the directory the kit reads")
        sub.add_argument("--container", required=True)
    run.add_argument("--ready-after", type=float, default=0.0, metavar="SECONDS")
    run.add_argument("--exit-after", type=float, default=None, metavar="SECONDS")
    run.add_argument("--exit-code", type=int, default=0)
    run.add_argument("--ignore-term", action="store_true")
    run.add_argument("--log-lines", type=int, default=5)
    run.add_argument("--show", action="append", default=[], metavar="VARIABLE")
    return parse


def main(argv: list[str] | None = None) -> int:
    options = parser().parse_args(argv)
    if options.command == "probe":
        return probe(options)
    return Instance(options).run()


if __name__ == "__main__":
    raise SystemExit(main())

"""What the plugin's detached processes share: a record, a liveness check, start and stop.

``base/<record>.json`` holds the process's pid, the pid's start time (so a later
process that reuses the pid is never signalled), its port and whatever else the
owner records. A process runs in its own process group and session, detached from
Podium: it keeps running after ``podium up`` exits and is stopped as one group.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from podium.plugin import (
    ResourceError,
    probe_http,
    process_start_time,
    stop_process_group,
    tail_lines,
    write_atomic,
)
from podium_prometheus.settings import Settings

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


class SupervisedProcess:
    """One detached process, recorded in ``base/<record_name>``, healthy when
    ``http://127.0.0.1:<port><health_path>`` answers."""

    #: what error messages call it
    what = "the process"
    health_path = "/"

    def __init__(self, base: Path, settings: Settings, record_name: str, log_name: str) -> None:
        self.base = base
        self.settings = settings
        self.record_file = base / record_name
        self.log_file = base / log_name

    def record(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.record_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data

    def running(self) -> dict[str, Any] | None:
        """The record of a process that runs (same pid and start time) and answers."""
        record = self.record()
        if record is None:
            return None
        if process_start_time(int(record["pid"])) != record.get("start_time"):
            return None
        if not probe_http(f"http://{HOST}:{record['port']}{self.health_path}", timeout=2):
            return None
        return record

    def stop_recorded(self) -> dict[str, Any] | None:
        """Stop the recorded process if any (dead, hung or replaced); its old record."""
        old = self.record()
        if old is not None:
            stop_process_group(int(old["pid"]), started=old.get("start_time"), timeout=5)
        return old

    def launch(self, argv: list[str], port: int, **recorded: Any) -> None:
        """Start ``argv`` detached, record it, and wait until it answers (else stop it and
        raise with the end of its log)."""
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped as one, not by Ctrl-C
            )
        started = process_start_time(process.pid)
        write_atomic(
            self.record_file,
            json.dumps({"pid": process.pid, "start_time": started, "port": port, **recorded}),
            mode=0o644,
        )
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if probe_http(f"http://{HOST}:{port}{self.health_path}", timeout=2):
                return
            time.sleep(0.1)
        stop_process_group(process.pid, started=started, timeout=5)
        raise ResourceError(
            f"{self.what} did not start: " + " | ".join(tail_lines(self.log_file, 5)),
            hint=f"its log: {self.log_file}",
        )

    def stop(self) -> None:
        record = self.record()
        if record is not None:
            stop_process_group(int(record["pid"]), started=record.get("start_time"), timeout=10)
        self.record_file.unlink(missing_ok=True)

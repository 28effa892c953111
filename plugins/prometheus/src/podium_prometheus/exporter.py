"""Supervision of the readiness exporter (:mod:`podium_prometheus.readiness`) beside Prometheus.

Like the server: ``base/readiness.json`` records its pid, the pid's start time and its
port; it runs in its own session, keeps running after ``podium up`` exits, and is
started again by the next apply if it died. ``base/readiness-spec.json`` tells it
which platform and environment to watch; removing that file (or the whole
directory, as the last workload's removal does) makes it exit by itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
from podium_prometheus.readiness import HOST, JOB
from podium_prometheus.server import free_port, port_free
from podium_prometheus.settings import Settings


class ReadinessExporter:
    def __init__(
        self, base: Path, settings: Settings, config_path: Path | None, environment: str
    ) -> None:
        self.base = base
        self.settings = settings
        self.config_path = config_path
        self.environment = environment

    @property
    def record_file(self) -> Path:
        return self.base / "readiness.json"

    @property
    def spec_file(self) -> Path:
        return self.base / "readiness-spec.json"

    @property
    def log_file(self) -> Path:
        return self.base / "readiness.log"

    def record(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.record_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data

    def scrape_job(self) -> dict[str, Any] | None:
        """Its ``scrape_configs`` entry, while it has a port."""
        record = self.record()
        if record is None:
            return None
        return {
            "job_name": JOB,
            "metrics_path": "/metrics",
            "scrape_interval": self.settings.scrape_interval,
            "static_configs": [{"targets": [f"{HOST}:{record['port']}"]}],
        }

    def running(self) -> dict[str, Any] | None:
        record = self.record()
        if record is None:
            return None
        if process_start_time(int(record["pid"])) != record.get("start_time"):
            return None
        if not probe_http(f"http://{HOST}:{record['port']}/metrics", timeout=2):
            return None
        return record

    def ensure_running(self) -> None:
        """Start the exporter unless it runs. Hold the config directory's lock."""
        if self.config_path is None:
            raise ResourceError("the readiness exporter needs the platform's podium.toml")
        spec = {
            "config_path": str(self.config_path),
            "environment": self.environment,
            "period": self.settings.readiness_period,
        }
        record = self.running()
        if record is not None and record.get("spec") == spec:
            return
        old = self.record()
        if old is not None:  # dead, hung or watching with other settings: replace it
            stop_process_group(int(old["pid"]), started=old.get("start_time"), timeout=5)
        port = (old or {}).get("port") or 0
        if not port or not port_free(int(port)):
            port = free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        write_atomic(self.spec_file, json.dumps({**spec, "port": port}), mode=0o644)
        argv = [sys.executable, "-m", "podium_prometheus.readiness", str(self.spec_file)]
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
            json.dumps({"pid": process.pid, "start_time": started, "port": port, "spec": spec}),
            mode=0o644,
        )
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if probe_http(f"http://{HOST}:{port}/metrics", timeout=2):
                return
            time.sleep(0.1)
        stop_process_group(process.pid, started=started, timeout=5)
        raise ResourceError(
            "the readiness exporter did not start: " + " | ".join(tail_lines(self.log_file, 5)),
            hint=f"its log: {self.log_file}",
        )

    def stop(self) -> None:
        self.spec_file.unlink(missing_ok=True)
        record = self.record()
        if record is None:
            return
        stop_process_group(int(record["pid"]), started=record.get("start_time"), timeout=10)
        self.record_file.unlink(missing_ok=True)

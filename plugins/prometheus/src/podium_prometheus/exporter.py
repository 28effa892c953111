"""Supervision of the readiness exporter (:mod:`podium_prometheus.readiness`) beside Prometheus.

Like the server: ``base/readiness.json`` records its pid, the pid's start time and its
port; it runs in its own session, keeps running after ``podium up`` exits, and is
started again by the next apply if it died. ``base/readiness-spec.json`` tells it
which platform and environment to watch; removing that file (or the whole
directory, as the last workload's removal does) makes it exit by itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from podium.plugin import ResourceError, write_atomic
from podium_prometheus.readiness import HOST, JOB
from podium_prometheus.settings import Settings
from podium_prometheus.supervised import SupervisedProcess, free_port, port_free


class ReadinessExporter(SupervisedProcess):
    what = "the readiness exporter"
    health_path = "/metrics"

    def __init__(
        self, base: Path, settings: Settings, config_path: Path | None, environment: str
    ) -> None:
        super().__init__(base, settings, "readiness.json", "readiness.log")
        self.config_path = config_path
        self.environment = environment

    @property
    def spec_file(self) -> Path:
        return self.base / "readiness-spec.json"

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
        old = self.stop_recorded()  # dead, hung or watching with other settings: replace it
        port = (old or {}).get("port") or 0
        if not port or not port_free(int(port)):
            port = free_port()
        self.base.mkdir(parents=True, exist_ok=True)
        write_atomic(self.spec_file, json.dumps({**spec, "port": port}), mode=0o644)
        argv = [sys.executable, "-m", "podium_prometheus.readiness", str(self.spec_file)]
        self.launch(argv, int(port), spec=spec)

    def stop(self) -> None:
        self.spec_file.unlink(missing_ok=True)
        super().stop()

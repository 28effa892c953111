"""Monitoring of one environment: render, check, write, run or reload, remove, query."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from podium.plugin import (
    DeploymentResult,
    EnvironmentInfo,
    RenderedWorkload,
    ResourceError,
    TelemetryConfig,
)
from podium_prometheus.configdir import ConfigDir, WorkloadFiles, file_names
from podium_prometheus.dashboard import dashboard
from podium_prometheus.exporter import ReadinessExporter
from podium_prometheus.monitoring import Monitoring, MonitoringError, read_monitoring
from podium_prometheus.rules import rule_groups, rule_tests
from podium_prometheus.scrape import is_loopback, scrape_job, targets
from podium_prometheus.server import SupervisedServer, reload
from podium_prometheus.settings import Settings


class EnvironmentMonitor:
    def __init__(self, env: EnvironmentInfo, settings: Settings) -> None:
        self.env = env
        self.settings = settings
        self.mode = settings.mode_for(env.environment)
        if self.mode == "external":
            if not settings.url or not settings.config_dir:
                raise ResourceError(
                    "podium-prometheus in external mode needs url and config_dir",
                    hint="set [plugins.prometheus] url and config_dir",
                )
            base = Path(settings.config_dir) / f"{env.platform}-{env.environment}"
        else:
            base = env.state_dir / "prometheus"
        # getattr: a core from before EnvironmentInfo.config_path: no readiness exporter
        self.config_path: Path | None = getattr(env, "config_path", None)
        self.exporter = ReadinessExporter(base, settings, self.config_path, env.environment)
        self.files = ConfigDir(
            base,
            settings,
            {"podium_platform": env.platform, "podium_environment": env.environment},
            extra_jobs=self._extra_jobs,
        )
        self.server = SupervisedServer(base, settings)

    @property
    def readiness_possible(self) -> bool:
        """Whether availability may include readiness here: the plugin runs this
        environment's Prometheus (so the exporter beside it), and the exporter can open
        the platform (it has a ``podium.toml``)."""
        return (
            self.settings.readiness
            and self.mode in ("auto", "supervised")
            and self.config_path is not None
        )

    def _extra_jobs(self) -> list[dict[str, Any]]:
        job = self.exporter.scrape_job()
        return [job] if job is not None else []

    def url(self) -> str | None:
        """Where this environment's Prometheus answers, if it has one."""
        if self.mode == "external":
            return self.settings.url
        if self.mode == "render":
            return None
        return self.server.url()

    def configure(
        self, workload: RenderedWorkload, deployment: DeploymentResult
    ) -> TelemetryConfig:
        try:
            monitoring = read_monitoring(workload.name, workload.annotations, workload.ports)
        except MonitoringError as exc:
            raise ResourceError(f"workload {workload.name}: {exc}") from exc
        found = targets(monitoring, deployment.outputs, list(deployment.urls))
        with self.files.locked():
            readiness = self.readiness_possible and self._wants_server(found)
            if readiness:
                self.exporter.ensure_running()  # its port goes into prometheus.yml
            elif not self.readiness_possible:
                self.exporter.stop()  # switched off, or never on: nothing to scrape
            files = self.render(monitoring, found, readiness=readiness)
            changed = self.files.put(workload.name, files)
            url = self._serve(changed)
        names = dict(
            zip(
                ("job_file", "rules", "rule_tests", "dashboard"),
                file_names(workload.name),
                strict=True,
            )
        )
        scraped = f"{monitoring.metrics_path} on {', '.join(found)}" if found else "no target"
        where = f"Prometheus {url}" if url else f"rendered in {self.files.base}"
        return TelemetryConfig(
            provider="prometheus",
            description=f"scrape {scraped}; {len(files.rules['groups'])} rule group(s); {where}",
            outputs={
                "mode": self.mode,
                "prometheus": url,
                "job": workload.name,
                "targets": found,
                "metrics_path": monitoring.metrics_path,
                "slo": monitoring.slo,
                "readiness": readiness,
                "config": str(self.files.config_file),
                **{k: str(self.files.base / v) for k, v in names.items()},
            },
        )

    def render(
        self, monitoring: Monitoring, found: list[str], *, readiness: bool = False
    ) -> WorkloadFiles:
        environment = self.env.environment
        rules_name = file_names(monitoring.workload)[1].split("/", 1)[1]
        return WorkloadFiles(
            job=scrape_job(monitoring, found, self.settings, environment),
            rules=rule_groups(monitoring, self.settings, environment, readiness=readiness),
            tests=rule_tests(
                monitoring, self.settings, environment, rules_name, readiness=readiness
            ),
            dashboard=dashboard(monitoring, self.settings, environment),
        )

    def _wants_server(self, found: list[str] | None = None) -> bool:
        """Whether the plugin runs this environment's Prometheus (``found``: the targets
        of a workload about to be written)."""
        if self.mode == "supervised":
            return True
        if self.mode != "auto":
            return False
        return any(is_loopback(target) for target in found or ()) or any(
            is_loopback(target)
            for job in self.files.jobs()
            for group in job.get("static_configs", [])
            for target in group.get("targets", [])
        )

    def _serve(self, changed: bool) -> str | None:
        """Start, reload or leave the server after a change; its URL. Hold the lock."""
        if self.mode == "render":
            return None
        if self.mode == "external":
            assert self.settings.url is not None
            if changed:
                reload(self.settings.url)
            return self.settings.url
        if not self._wants_server():
            return None
        running = self.server.running()
        if running is None:
            return self.server.ensure_running()  # a new server reads the new files
        url = f"http://127.0.0.1:{running['port']}"
        if changed:
            reload(url)
        return url

    def remove(self, workload: str) -> None:
        with self.files.locked():
            if not self.files.remove(workload):
                return
            if self.mode == "external":
                assert self.settings.url is not None
                reload(self.settings.url)
                return
            if not self.files.workloads():
                # Nothing left to watch in this environment: no process, port or directory
                # stays behind (the runs of one environment are serialised by its lease).
                self.server.stop()
                self.exporter.stop()
                shutil.rmtree(self.files.base, ignore_errors=True)
                return
            if self.mode == "render":
                return
            running = self.server.running()
            if running is not None:
                reload(f"http://127.0.0.1:{running['port']}")

    def signals(self, workload: str) -> dict[str, Any] | None:
        if workload not in self.files.workloads():
            return None
        url = self.url()
        if url is None:
            return {"scraped": False, "message": f"configuration only, in {self.files.base}"}
        from podium_prometheus.query import QueryError, workload_signals

        found: dict[str, Any] = {"prometheus": url}
        if self.exporter.record() is not None and self.exporter.running() is None:
            # Its workloads' availability alerts fire (no readiness known): say why.
            found["message"] = (
                "the readiness exporter is not running (the next apply that configures "
                f"a workload starts it; its log: {self.exporter.log_file})"
            )
        try:
            return {**found, **workload_signals(url, workload, self.settings)}
        except QueryError as exc:
            return {**found, "error": str(exc)}

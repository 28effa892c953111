"""The files of one environment's Prometheus, changed only after promtool accepted them.

Layout (``base`` is ``<env state>/prometheus``, or ``<config_dir>/<platform>-<env>``)::

    base/prometheus.yml                 global settings, every workload's scrape job, rule_files
    base/jobs/<workload>.json           the workload's scrape job (assembled into prometheus.yml)
    base/rules/<workload>.rules.yml     its recording and alerting rules
    base/rules/<workload>.rules.test.yml  promtool unit tests of its alerts
    base/rules/<workload>.dashboard.json  its Grafana dashboard

A change is staged in a temporary copy of the tree, checked there with
``promtool check config`` (which checks the rule files too) and ``promtool test
rules``, and only then written over the live files (each atomically,
prometheus.yml last), so a server reloading at any moment reads a checked tree.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from podium.plugin import file_lock, write_atomic
from podium_prometheus import promtool
from podium_prometheus.settings import Settings

RULE_FILES = "rules/*.rules.yml"


@dataclass
class WorkloadFiles:
    """Everything rendered for one workload."""

    job: dict[str, Any]
    rules: dict[str, Any]
    tests: dict[str, Any]
    dashboard: dict[str, Any]


def file_names(workload: str) -> tuple[str, str, str, str]:
    """The workload's scrape job, rules, rule tests and dashboard, relative to the base."""
    return (
        f"jobs/{workload}.json",
        f"rules/{workload}.rules.yml",
        f"rules/{workload}.rules.test.yml",
        f"rules/{workload}.dashboard.json",
    )


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (PromQL split over lines) as ``|`` blocks, as a person writes them."""


def _block(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not value.endswith((" ", "\n")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _block)


def _yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)


class ConfigDir:
    def __init__(
        self,
        base: Path,
        settings: Settings,
        external_labels: dict[str, str],
        extra_jobs: Callable[[], list[dict[str, Any]]] = list,
    ) -> None:
        self.base = base
        self.settings = settings
        self.external_labels = external_labels
        #: scrape jobs that belong to no workload (the readiness exporter), after theirs
        self.extra_jobs = extra_jobs

    @property
    def config_file(self) -> Path:
        return self.base / "prometheus.yml"

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.base.mkdir(parents=True, exist_ok=True)
        with file_lock(self.base / ".lock"):
            yield

    def workloads(self) -> list[str]:
        return sorted(p.stem for p in (self.base / "jobs").glob("*.json"))

    def jobs(self, *, without: str | None = None) -> list[dict[str, Any]]:
        found = []
        for path in sorted((self.base / "jobs").glob("*.json")):
            if path.stem != without:
                found.append(json.loads(path.read_text()))
        return found

    def main_config(self, jobs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "global": {
                "scrape_interval": self.settings.scrape_interval,
                "evaluation_interval": self.settings.evaluation_interval,
                "external_labels": dict(self.external_labels),
            },
            "rule_files": [RULE_FILES],
            "scrape_configs": [*jobs, *self.extra_jobs()],
        }

    def put(self, workload: str, files: WorkloadFiles) -> bool:
        """Check and write one workload's files; whether anything changed. Hold :meth:`locked`."""
        job, rules, tests, board = file_names(workload)
        texts = {
            job: json.dumps(files.job, indent=2, sort_keys=True) + "\n",
            rules: _yaml(files.rules),
            tests: _yaml(files.tests),
            board: json.dumps(files.dashboard, indent=2) + "\n",
        }
        jobs = [*self.jobs(without=workload), files.job]
        jobs.sort(key=lambda job: str(job["job_name"]))
        texts["prometheus.yml"] = _yaml(self.main_config(jobs))
        if all(self._current(name) == text for name, text in texts.items()):
            return False
        with self._staged(texts) as staging:
            promtool.run(self.settings.promtool, "check", "config", "prometheus.yml", cwd=staging)
            promtool.run(
                self.settings.promtool,
                "test",
                "rules",
                Path(tests).name,
                cwd=staging / "rules",
            )
        self._write(texts)
        return True

    def remove(self, workload: str) -> bool:
        """Drop one workload's files; whether it had any. Hold :meth:`locked`."""
        mine = [self.base / name for name in file_names(workload)]
        if not any(p.exists() for p in mine):
            return False
        texts = {"prometheus.yml": _yaml(self.main_config(self.jobs(without=workload)))}
        for path in mine:
            path.unlink(missing_ok=True)
        with self._staged(texts) as staging:
            promtool.run(self.settings.promtool, "check", "config", "prometheus.yml", cwd=staging)
        self._write(texts)
        return True

    def _current(self, name: str) -> str | None:
        try:
            return (self.base / name).read_text()
        except FileNotFoundError:
            return None

    @contextmanager
    def _staged(self, texts: dict[str, str]) -> Iterator[Path]:
        """The live tree with ``texts`` written over it, in a private temporary copy."""
        staging = Path(tempfile.mkdtemp(dir=self.base, prefix=".staging-"))
        try:
            for sub in ("jobs", "rules"):
                source = self.base / sub
                if source.is_dir():
                    shutil.copytree(source, staging / sub)
                (staging / sub).mkdir(exist_ok=True)
            for name, text in texts.items():
                (staging / name).write_text(text)
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _write(self, texts: dict[str, str]) -> None:
        for name in sorted(texts, key=lambda n: n == "prometheus.yml"):  # the config last
            path = self.base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            # Prometheus (possibly another user's server in external mode) reads them.
            write_atomic(path, texts[name], mode=0o644)

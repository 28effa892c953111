"""Where a deployed workload's files live, and how its programs are named.

``<env state>/local/workloads/<workload>/``::

    deployment.json          what was deployed (release, per-container hashes, probes, URLs)
    specs/<container>.json   the launcher spec (mode 0600; secrets sealed)
    specs/<container>.starts start count and crash-loop streak, kept by the launcher
    logs/<container>.log     stdout, captured by supervisord
    logs/<container>.err.log stderr
    root/<container>/        the container's filesystem view: files and volume links

When podium runs as root the workloads run as a user of their own who cannot
enter the state directory, so ``root/`` lives in the environment's runtime
directory instead (``<runtime>/workloads/<workload>/root/<container>``, see
:mod:`podium_local.isolation`).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from podium.plugin import EnvironmentInfo
from podium_local.files import plugin_dir, write_atomic
from podium_local.isolation import prune_runtime_dir, runtime_dir

SEPARATOR = "__"


def program_name(workload: str, container: str) -> str:
    """supervisord program names allow letters, digits, ``-`` and ``_``; the pair stays unique."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", container)
    return f"{workload}{SEPARATOR}{safe}"


class WorkloadDir:
    def __init__(self, env: EnvironmentInfo, workload: str) -> None:
        self.env = env
        self.workload = workload
        self.path = plugin_dir(env) / "workloads" / workload
        #: where the container roots live (``path`` unless workloads run as their own user)
        self.runtime = runtime_dir(env) / "workloads" / workload

    @property
    def record_path(self) -> Path:
        return self.path / "deployment.json"

    def spec(self, container: str) -> Path:
        return self.path / "specs" / f"{container}.json"

    def starts(self, container: str) -> Path:
        return self.path / "specs" / f"{container}.starts"

    def stdout(self, container: str) -> Path:
        return self.path / "logs" / f"{container}.log"

    def stderr(self, container: str) -> Path:
        return self.path / "logs" / f"{container}.err.log"

    def root(self, container: str) -> Path:
        return self.runtime / "root" / container

    def remove(self) -> None:
        """Delete everything of this workload (its records, logs and container roots)."""
        shutil.rmtree(self.path, ignore_errors=True)
        shutil.rmtree(self.runtime, ignore_errors=True)
        prune_runtime_dir(self.env)

    def record(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.record_path.read_text())
        except FileNotFoundError:
            return None
        return data if isinstance(data, dict) else None

    def save_record(self, record: dict[str, Any]) -> None:
        write_atomic(self.record_path, json.dumps(record, indent=2, sort_keys=True), mode=0o600)

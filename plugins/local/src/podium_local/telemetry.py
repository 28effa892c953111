"""Observability: a JSONL event sink, and where a locally deployed workload's logs and health are."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any, ClassVar

from podium.plugin import (
    DeploymentResult,
    EnvironmentInfo,
    Event,
    RenderedWorkload,
    TelemetryConfig,
    TelemetrySink,
    open_private_append,
)
from podium_local.deploy.layout import WorkloadDir

log = logging.getLogger(__name__)


class JsonlEventSink(TelemetrySink):
    """Appends every platform event as one JSON line to ``<state_dir>/<env>/events.jsonl``.

    ``state_root`` is the platform's state directory, from the
    :class:`~podium.platform.PlatformInfo` the registration hook receives (see
    :mod:`podium_local.plugin`); events outside an environment go to
    ``<state_dir>/events.jsonl``, and without a ``state_root`` nothing is written.
    """

    name: ClassVar[str] = "local-events"

    def __init__(self, state_root: Path | None = None) -> None:
        self.state_root = state_root
        self._lock = threading.Lock()

    def path_for(self, event: Event) -> Path | None:
        if self.state_root is None:
            return None
        base = self.state_root / event.environment if event.environment else self.state_root
        return base / "events.jsonl"

    def emit(self, event: Event) -> None:
        path = self.path_for(event)
        if path is None:
            return
        line = json.dumps(event.to_dict(), default=str, sort_keys=True)
        try:
            # Events carry workload names, errors and who ran what: private like the state.
            with self._lock, open_private_append(path) as handle:
                handle.write(line + "\n")
        except OSError as exc:  # a sink never fails the platform's work
            log.warning("podium-local: cannot write event to %s: %s", path, exc)


def configure_telemetry(
    workload: RenderedWorkload, deployment: DeploymentResult, env: EnvironmentInfo
) -> TelemetryConfig | None:
    """Record log files and health checks of a workload the local deployer runs."""
    record = WorkloadDir(env, workload.name).record()
    if record is None:
        return None  # deployed by another deployer: not ours to describe
    wdir = WorkloadDir(env, workload.name)
    logs: dict[str, Any] = {
        name: {"stdout": str(wdir.stdout(name)), "stderr": str(wdir.stderr(name))}
        for name in record.get("containers", {})
    }
    health = {
        name: entry["readiness"]["http"]["url"]
        for name, entry in record.get("containers", {}).items()
        if entry.get("readiness") and "http" in entry["readiness"]
    }
    return TelemetryConfig(
        provider="local",
        description=f"logs of {len(logs)} container(s) in files; health from probes",
        outputs={"logs": logs, "health": health, "urls": list(deployment.urls)},
    )

"""A Podium plugin whose "cloud" is a directory, so CLI tests run real podium processes.

Installed for real (a ``.dist-info`` with an entry point in a site directory on
``PYTHONPATH``), so ``podium`` subprocesses load it like any plugin. It provides
the ``note`` resource type (provisioner ``world-note``: a JSON file per
resource) and the deployer ``world-deployer`` (a JSON file per workload).

Environment: ``PODIUM_PG_WORLD`` is the directory (required);
``PODIUM_PG_WORLD_ON_CREATE`` is a shell command each create runs first (the
restart test restarts the PostgreSQL server there, mid-apply).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from podium.plugin import (
    Deployer,
    DeploymentResult,
    LogLine,
    Provisioner,
    ResourceContext,
    WorkloadStatus,
    hookimpl,
)

PODIUM_API = ">=1.0,<2"


def _world(kind: str) -> Path:
    path = Path(os.environ["PODIUM_PG_WORLD"]) / kind
    path.mkdir(parents=True, exist_ok=True)
    return path


class NoteProvisioner(Provisioner):
    name: ClassVar[str] = "world-note"
    resource_type: ClassVar[str] = "note"

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        command = os.environ.get("PODIUM_PG_WORLD_ON_CREATE")
        if command:
            subprocess.run(command, shell=True, check=True, capture_output=True, timeout=120)
        (_world("notes") / ctx.physical_name).write_text(json.dumps(dict(ctx.params)))
        return {"name": ctx.physical_name}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        if not (_world("notes") / ctx.physical_name).exists():
            return None
        return {"name": ctx.physical_name}

    def delete(self, ctx: ResourceContext) -> None:
        (_world("notes") / ctx.physical_name).unlink(missing_ok=True)


class FileDeployer(Deployer):
    name: ClassVar[str] = "world-deployer"

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        (_world("deployed") / ctx.workload).write_text(json.dumps({"release": ctx.release}))
        return DeploymentResult(message="written")

    def status(self, ctx: Any) -> WorkloadStatus:
        ready = (_world("deployed") / ctx.workload).exists()
        return WorkloadStatus(workload=ctx.workload, state="ready" if ready else "absent")

    def logs(
        self,
        ctx: Any,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        yield LogLine(container or "main", "hello from the world")

    def destroy(self, ctx: Any) -> None:
        (_world("deployed") / ctx.workload).unlink(missing_ok=True)


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [NoteProvisioner()]


@hookimpl
def podium_deployers() -> list[Deployer]:
    return [FileDeployer()]

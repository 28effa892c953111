"""A real plugin for the state-integrity tests: every side effect is a line in a file.

The file (``$RECORD_FILE``) lives outside the platform's state root, so a test
can see whether a refused run created anything, and the state root holds only
what the core itself writes. Creating a resource generates a secret (sealed in
state with the state key), as a database provisioner would for its password.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium import hookimpl
from podium.deployment import Deployer, DeploymentResult, LogLine, WorkloadStatus
from podium.provisioning import Provisioner, ResourceContext

PODIUM_API = ">=1.0,<2"


def _record(line: str) -> None:
    with Path(os.environ["RECORD_FILE"]).open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def _recorded() -> list[str]:
    path = Path(os.environ["RECORD_FILE"])
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class RecordingProvisioner(Provisioner):
    name = "recording-db"
    resource_type = "postgres"
    secret_outputs = frozenset({"password"})

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        password = ctx.generate_secret("password")
        _record(f"create {ctx.physical_name}")
        return {"name": ctx.physical_name, "password": password}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        if f"create {ctx.physical_name}" not in _recorded():
            return None
        return {"name": ctx.physical_name, "password": ctx.generate_secret("password")}

    def update(self, ctx: ResourceContext, previous: Any) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        _record(f"delete {ctx.physical_name}")


class RecordingDeployer(Deployer):
    name = "recording-deployer"

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        _record(f"deploy {workload.name}")
        return DeploymentResult(urls=[], message="recorded")

    def status(self, ctx: Any) -> WorkloadStatus:
        return WorkloadStatus(workload=ctx.workload, state="ready")

    def logs(
        self,
        ctx: Any,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        yield from ()

    def destroy(self, ctx: Any) -> None:
        _record(f"destroy {ctx.workload}")


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [RecordingProvisioner()]


@hookimpl
def podium_deployers() -> list[Deployer]:
    return [RecordingDeployer()]

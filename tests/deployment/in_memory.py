"""What the deployment tests share: a deployer that keeps its workloads in a dict, and an
in-process Platform that runs a test's deployer (and provisioners) as a plugin."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

from podium import hookimpl
from podium.api import Platform
from podium.plugin import DeployContext, Deployer, LogLine, Provisioner, WorkloadStatus

Deployed = TypeVar("Deployed")


class InMemoryDeployer(Deployer, Generic[Deployed]):
    """Status, logs and destroy for a deployer whose ``deploy`` fills ``deployed`` (what it
    deployed, by workload name): ready while there, absent after destroy; no log lines."""

    def __init__(self) -> None:
        self.deployed: dict[str, Deployed] = {}

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        deployed = ctx.workload in self.deployed
        return WorkloadStatus(workload=ctx.workload, state="ready" if deployed else "absent")

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        return iter(())

    def destroy(self, ctx: DeployContext) -> None:
        self.deployed.pop(ctx.workload, None)


def in_process_platform(
    tmp_path: Path,
    config: Mapping[str, Any],
    name: str,
    deployer: Deployer,
    *,
    api: str = ">=1.0,<2",
    provisioners: Sequence[Provisioner] = (),
    others: Sequence[tuple[str, object]] = (),
) -> Platform:
    """A Platform in ``tmp_path`` running plugin ``name`` (``deployer`` and ``provisioners``,
    declaring plugin API ``api``) and ``others``; no installed plugin, no JSONL telemetry."""
    hooks: dict[str, Any] = {"podium_deployers": hookimpl(lambda: [deployer])}
    if provisioners:
        hooks["podium_provisioners"] = hookimpl(lambda: list(provisioners))
    plugin = SimpleNamespace(PODIUM_API=api, **hooks)
    return Platform(
        {**config, "telemetry": {"jsonl": False}},
        root=tmp_path,
        plugins=[(name, plugin), *others],
        load_entrypoints=False,
    )

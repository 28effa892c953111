"""Small real implementations the conformance kits are run against.

``DirectoryProvisioner`` keeps real directories, ``ProcessDeployer`` runs real
processes; the seeded-bug provisioners each break one rule of the provisioner
contract on purpose (see test_testing_kit_catches_faults.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from podium.deployment.contract import (
    DeployContext,
    Deployer,
    DeploymentResult,
    LogLine,
    RenderedWorkload,
    WorkloadStatus,
)
from podium.errors import ResourceError
from podium.provisioning.contract import Provisioner, ResourceContext
from podium.provisioning.schema import Output
from podium.security.secret import Secret


class DirectoryProvisioner(Provisioner):
    """A volume kept as a directory; a ``ready`` file, written last, marks it whole."""

    name: ClassVar[str] = "sample-dir"
    resource_type: ClassVar[str] = "volume"
    secret_outputs: ClassVar[frozenset[str]] = frozenset({"password"})
    outputs: ClassVar[tuple[str, ...]] = ("source", "password")

    def _path(self, ctx: ResourceContext) -> Path:
        return Path(ctx.env.state_dir) / "volumes" / ctx.physical_name

    def _outputs(self, ctx: ResourceContext) -> dict[str, Any]:
        return {"source": str(self._path(ctx)), "password": ctx.generate_secret("password")}

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        if int(ctx.params.get("size", 1)) < 1:
            raise ResourceError(f"size must be at least 1, not {ctx.params['size']}")
        self._path(ctx).mkdir(parents=True, exist_ok=True)
        (self._path(ctx) / "ready").touch()
        return self._outputs(ctx)

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return self._outputs(ctx) if (self._path(ctx) / "ready").exists() else None

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self._path(ctx), ignore_errors=True)


def interrupt_directory_create(provisioner: DirectoryProvisioner, ctx: ResourceContext) -> None:
    """What a create killed between its mkdir and its ``ready`` file leaves behind."""
    provisioner._path(ctx).mkdir(parents=True, exist_ok=True)


# Seeded bugs: each breaks one rule of the provisioner contract; the kit must say which.
class DeleteLeavesResource(DirectoryProvisioner):
    """delete removes the wrong path and leaves the resource behind."""

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self._path(ctx).with_name(ctx.physical_name + ".old"), ignore_errors=True)


class HalfMadeReportedExisting(DirectoryProvisioner):
    """read takes a directory without its ``ready`` file for a whole resource."""

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        if not self._path(ctx).is_dir():
            return None
        outputs: dict[str, Any] = {"source": str(self._path(ctx))}
        if (self._path(ctx) / "ready").exists():
            outputs["password"] = ctx.generate_secret("password")
        return outputs


class MissingDeclaredOutput(DirectoryProvisioner):
    """Declares a ``mount_options`` output it never returns."""

    outputs: ClassVar[tuple[str, ...]] = ("source", "password", "mount_options")


class PlainSecretLookingOutput(DirectoryProvisioner):
    """Returns an ``api_token`` as a plain str."""

    def _outputs(self, ctx: ResourceContext) -> dict[str, Any]:
        return {**super()._outputs(ctx), "api_token": "plain-token-value"}


class UndeclaredSecretOutput(DirectoryProvisioner):
    """Returns a Secret ``replica_dsn`` that secret_outputs does not list."""

    def _outputs(self, ctx: ResourceContext) -> dict[str, Any]:
        return {**super()._outputs(ctx), "replica_dsn": ctx.generate_secret("replica")}


class NonIdempotentCreate(DirectoryProvisioner):
    """Every create rotates the ``access_key`` (a new secret value each time)."""

    secret_outputs: ClassVar[frozenset[str]] = frozenset({"password", "access_key"})
    created = 0

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        outputs = super().create(ctx)
        NonIdempotentCreate.created += 1
        key = Secret(f"SEEDED-ACCESS-KEY-{NonIdempotentCreate.created}")
        (self._path(ctx) / "key").write_text(key.reveal())
        return {**outputs, "access_key": key}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        found = super().read(ctx)
        key = self._path(ctx) / "key"
        return None if found is None else {**found, "access_key": Secret(key.read_text())}


class SchemaDirectoryProvisioner(DirectoryProvisioner):
    """The same volume, its outputs declared with ``output_fields``; ``quota`` is optional
    and never returned."""

    output_fields: ClassVar[dict[str, Output]] = {
        "source": Output("The directory."),
        "password": Output("A generated password.", sensitive=True),
        "quota": Output("Only when a quota was asked for.", type=int, optional=True),
    }


class SchemaMissingOutput(SchemaDirectoryProvisioner):
    """Declares (in ``output_fields``) a ``mount_options`` output it never returns."""

    output_fields: ClassVar[dict[str, Output]] = {
        **SchemaDirectoryProvisioner.output_fields,
        "mount_options": Output("Never returned."),
    }


class SchemaSensitiveReturnedPlain(SchemaDirectoryProvisioner):
    """Returns the ``password`` it declares sensitive as a plain str."""

    def _outputs(self, ctx: ResourceContext) -> dict[str, Any]:
        outputs = super()._outputs(ctx)
        return {**outputs, "password": outputs["password"].reveal()}


class ReadRaises(DirectoryProvisioner):
    """read fails with an untyped error where the contract expects an answer."""

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        raise KeyError("no such volume")


class ProcessDeployer(Deployer):
    """Runs each container's command as a local process (the image is ignored)."""

    name: ClassVar[str] = "sample-process"

    def __init__(self) -> None:
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def _dir(self, ctx: DeployContext) -> Path:
        return Path(ctx.env.state_dir) / "processes" / ctx.workload

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        self.destroy(ctx)
        directory = self._dir(ctx)
        directory.mkdir(parents=True)
        for cname, container in workload.containers.items():
            with (directory / f"{cname}.log").open("ab") as log:
                child = subprocess.Popen(
                    [*container.command, *container.args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self._children[child.pid] = child
            (directory / f"{cname}.pid").write_text(str(child.pid))
        return DeploymentResult(message=f"release {ctx.release} started")

    def _alive(self, pid: int) -> bool:
        child = self._children.get(pid)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        directory = self._dir(ctx)
        pids = (
            {p.stem: int(p.read_text()) for p in directory.glob("*.pid")}
            if directory.is_dir()
            else {}
        )
        if not pids:
            return WorkloadStatus(workload=ctx.workload, state="absent")
        alive = [name for name, pid in pids.items() if self._alive(pid)]
        state = "ready" if len(alive) == len(pids) else ("partial" if alive else "down")
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        directory = self._dir(ctx)
        for log in sorted(directory.glob("*.log")) if directory.is_dir() else []:
            if container is not None and log.stem != container:
                continue
            lines = log.read_text(errors="replace").splitlines()
            for text in lines[-tail:] if tail else lines:
                yield LogLine(container=log.stem, text=text)

    def destroy(self, ctx: DeployContext) -> None:
        directory = self._dir(ctx)
        if not directory.is_dir():
            return
        for pid_file in directory.glob("*.pid"):
            pid = int(pid_file.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            child = self._children.pop(pid, None)
            if child is not None:
                child.wait(timeout=10)
        shutil.rmtree(directory)


def count_directories(root: Path) -> int:
    return sum(1 for p in root.iterdir() if p.is_dir()) if root.is_dir() else 0


def params(**values: Any) -> Mapping[str, Any]:
    return values

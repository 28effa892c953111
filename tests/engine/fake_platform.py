"""A small real plugin for engine tests: directories as resources, a JSON-file deployer.

Every side effect is observable on disk, so tests compare state with reality.
Behaviour is steered by environment variables so it works the same in a
subprocess (``podium`` CLI) as in-process:

* ``FAKE_FAIL`` -- comma-separated resource names whose create raises;
* ``FAKE_TRANSIENT`` -- ``name:N``: the first N creates of ``name`` raise TransientError;
* ``FAKE_PAUSE_AFTER_CREATE`` -- seconds to sleep after the side effect, before returning
  (the crash window between journal and outcome);
* ``FAKE_CANARY`` -- a value returned as the secret output ``token``;
* ``FAKE_DEPLOY_FAIL`` -- a workload name whose deploys raise;
* ``FAKE_DEPLOY_FAIL_RELEASE`` -- a release number whose deploy raises (any workload);
* ``FAKE_STARTING`` -- comma-separated workload names whose status is ``partial`` (starting).
* ``FAKE_READ_FAIL`` -- comma-separated resource names whose read raises (a backend outage).
* ``FAKE_PAUSE_AFTER_DEPLOY`` -- seconds to sleep after a deploy's side effect, before returning
  (a window to kill the process between the side effect and its record).
* ``FAKE_STATUS_PAUSE`` -- seconds every live status call sleeps first (a slow probe).

A file ``deployed/<workload>.down`` makes that workload's status ``down`` with the
file's text as the message (a crash behind Podium's back); a deploy removes it.
Every status call appends the workload's name to ``status-calls``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from podium import hookimpl
from podium.deployment import Deployer, DeploymentResult, LogLine, WorkloadStatus
from podium.errors import ResourceError, TransientError
from podium.provisioning import Provisioner, ResourceContext
from podium.security.secret import Secret, reveal

PODIUM_API = ">=1.0,<2"


def _root(ctx: Any) -> Path:
    return Path(ctx.env.state_dir) / "fake-world"


class DirProvisioner(Provisioner):
    name = "fake-dir"
    resource_type = "volume"
    secret_outputs = frozenset({"token"})
    replace_on = frozenset({"flavour"})

    def path(self, ctx: ResourceContext) -> Path:
        return _root(ctx) / "dirs" / ctx.physical_name

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        name = ctx.uid.rsplit(".", 1)[-1]
        if name in os.environ.get("FAKE_FAIL", "").split(","):
            raise ResourceError(f"refusing to create {name} (FAKE_FAIL)")
        transient = dict(
            x.split(":") for x in os.environ.get("FAKE_TRANSIENT", "").split(",") if ":" in x
        )
        if name in transient:
            counter = _root(ctx) / f"attempts-{name}"
            counter.parent.mkdir(parents=True, exist_ok=True)
            attempts = int(counter.read_text()) if counter.exists() else 0
            counter.write_text(str(attempts + 1))
            if attempts < int(transient[name]):
                raise TransientError(f"{name} is busy (attempt {attempts + 1})")
        path = self.path(ctx)
        path.mkdir(parents=True, exist_ok=True)
        (path / "params.json").write_text(json.dumps(reveal(dict(ctx.params)), sort_keys=True))
        password = ctx.generate_secret("password")
        (path / "password").write_text(password.reveal())
        pause = float(os.environ.get("FAKE_PAUSE_AFTER_CREATE", "0") or 0)
        if pause:
            time.sleep(pause)
        return self._outputs(ctx, password)

    def _outputs(self, ctx: ResourceContext, password: Secret) -> dict[str, Any]:
        outputs: dict[str, Any] = {"source": str(self.path(ctx)), "password": password}
        canary = os.environ.get("FAKE_CANARY")
        if canary:
            outputs["token"] = Secret(canary)
        return outputs

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        name = ctx.uid.rsplit(".", 1)[-1]
        if name in os.environ.get("FAKE_READ_FAIL", "").split(","):
            raise ConnectionError(f"cannot reach the directory service for {name}")
        path = self.path(ctx)
        password = path / "password"
        if not password.is_file():
            # Absent, or a create killed before it finished: create again completes it.
            return None
        return self._outputs(ctx, Secret(password.read_text()))

    def update(self, ctx: ResourceContext, previous: Any) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self.path(ctx), ignore_errors=True)


class FileDeployer(Deployer):
    """Writes each release's rendered workload to ``deployed/<workload>.json``."""

    name = "fake-deployer"

    def file(self, ctx: Any) -> Path:
        return _root(ctx) / "deployed" / f"{ctx.workload}.json"

    def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
        if os.environ.get("FAKE_DEPLOY_FAIL") == workload.name:
            raise ResourceError(f"deploy of {workload.name} failed (FAKE_DEPLOY_FAIL)")
        if os.environ.get("FAKE_DEPLOY_FAIL_RELEASE") == str(ctx.release):
            raise ResourceError(f"release {ctx.release} cannot start (FAKE_DEPLOY_FAIL_RELEASE)")
        path = self.file(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        variables = {
            c: {k: v.reveal() if isinstance(v, Secret) else v for k, v in spec.variables.items()}
            for c, spec in workload.containers.items()
        }
        path.write_text(json.dumps({"release": ctx.release, "variables": variables}))
        path.with_suffix(".down").unlink(missing_ok=True)
        pause = float(os.environ.get("FAKE_PAUSE_AFTER_DEPLOY", "0") or 0)
        if pause:
            time.sleep(pause)
        return DeploymentResult(urls=[f"http://{workload.name}.test"], message="written")

    def status(self, ctx: Any) -> WorkloadStatus:
        pause = os.environ.get("FAKE_STATUS_PAUSE")
        if pause:  # a slow probe, to interrupt
            time.sleep(float(pause))
        calls = _root(ctx) / "status-calls"
        calls.parent.mkdir(parents=True, exist_ok=True)
        with calls.open("a") as handle:
            handle.write(ctx.workload + "\n")
        path = self.file(ctx)
        if not path.exists():
            return WorkloadStatus(workload=ctx.workload, state="absent", message="not deployed")
        down = path.with_suffix(".down")
        if down.exists():
            return WorkloadStatus(workload=ctx.workload, state="down", message=down.read_text())
        if ctx.workload in os.environ.get("FAKE_STARTING", "").split(","):
            return WorkloadStatus(workload=ctx.workload, state="partial", message="starting")
        return WorkloadStatus(workload=ctx.workload, state="ready")

    def recorded_status(self, ctx: Any) -> WorkloadStatus | None:
        """``deployed/<workload>.health`` (a WorkloadStatus as JSON with ``checked_at``), if any."""
        recorded = self.file(ctx).with_suffix(".health")
        if not recorded.exists():
            return None
        return WorkloadStatus.model_validate_json(recorded.read_text())

    def logs(
        self,
        ctx: Any,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        yield LogLine(container or "main", f"deployed {ctx.workload}")

    def destroy(self, ctx: Any) -> None:
        self.file(ctx).unlink(missing_ok=True)


class DataDirProvisioner(DirProvisioner):
    """The same directories, declared as holding data (the data-loss guard's tests)."""

    name = "fake-data-dir"
    holds_data = True


class SizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = 1


class SizedDirProvisioner(DirProvisioner):
    """The same directories, with a params model (``size``: an int)."""

    name = "fake-sized-dir"
    resource_type = "sized"
    params_model = SizeParams


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [DirProvisioner(), DataDirProvisioner(), SizedDirProvisioner()]


@hookimpl
def podium_deployers() -> list[Deployer]:
    return [FileDeployer()]

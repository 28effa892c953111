"""A Podium plugin whose resources are real directories, for the torture tests.

Installed for real (a ``.dist-info`` with an entry point in a temporary site
directory) so that ``podium apply`` subprocesses load it like any plugin.

Like a cloud API, creating a directory gets it a server-chosen suffix
(``<physical name>--<random id>``): a create that is repeated without first
looking the name up would make a second, duplicate resource, and a create
whose outcome was never recorded leaks unless recovery finds it by name.

Environment:
``PODIUM_TORTURE_WORLD``  the directory the resources live in (required);
``PODIUM_TORTURE_DELAY``  at most this many seconds of random delay around each step;
``PODIUM_TORTURE_GATE``   a file path: creates wait until it exists;
``PODIUM_TORTURE_LOG``    a file each operation appends ``pid start|end uid`` lines to;
``PODIUM_TORTURE_CANARY`` a value every resource also returns as the secret output ``token``;
``PODIUM_TORTURE_FLAKY``  a file path: the first create after the gate that finds it missing
                          makes it and fails with a TransientError (before making anything).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from podium import hookimpl
from podium.errors import TransientError
from podium.provisioning import Provisioner
from podium.provisioning.contract import ResourceContext
from podium.security.secret import Secret

PODIUM_API = ">=1.0,<2"
SEPARATOR = "--"


def world() -> Path:
    path = Path(os.environ["PODIUM_TORTURE_WORLD"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pause() -> None:
    delay = float(os.environ.get("PODIUM_TORTURE_DELAY") or 0)
    if delay:
        time.sleep(random.uniform(0, delay))


def _log(event: str, uid: str) -> None:
    log = os.environ.get("PODIUM_TORTURE_LOG")
    if log:
        with open(log, "a") as out:  # O_APPEND: lines from processes do not interleave
            out.write(f"{os.getpid()} {time.time():.6f} {event} {uid}\n")


def _wait_for_gate() -> None:
    gate = os.environ.get("PODIUM_TORTURE_GATE")
    while gate and not Path(gate).exists():
        time.sleep(0.01)


def _fail_once() -> None:
    flaky = os.environ.get("PODIUM_TORTURE_FLAKY")
    if flaky and not Path(flaky).exists():
        Path(flaky).touch()
        raise TransientError("the torture world is busy: try again")


class DirProvisioner(Provisioner):
    name = "torture-dir"
    resource_type = "dir"
    secret_outputs = frozenset({"password", "token"})
    outputs = ("path", "id", "password", "token")

    def _found(self, ctx: ResourceContext) -> list[Path]:
        return sorted(world().glob(f"{ctx.physical_name}{SEPARATOR}*"))

    def _outputs(self, ctx: ResourceContext, path: Path) -> dict[str, Any]:
        outputs = {"path": str(path), "id": path.name, "password": ctx.generate_secret("password")}
        canary = os.environ.get("PODIUM_TORTURE_CANARY")
        if canary:  # a secret the backend hands out, for the secret canary test
            outputs["token"] = Secret(canary)
        return outputs

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        _log("start", ctx.uid)
        _wait_for_gate()
        _fail_once()
        _pause()
        found = self._found(ctx)
        if found:  # idempotent: adopt what an interrupted run made
            path = found[0]
        else:
            path = world() / f"{ctx.physical_name}{SEPARATOR}{uuid.uuid4().hex[:8]}"
            path.mkdir()
        _pause()
        (path / "params.json").write_text(json.dumps(dict(ctx.params), default=str))
        _log("end", ctx.uid)
        return self._outputs(ctx, path)

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        found = self._found(ctx)
        return self._outputs(ctx, found[0]) if found else None

    def update(self, ctx: ResourceContext, previous: Mapping[str, Any]) -> dict[str, Any]:
        return self.create(ctx)

    def delete(self, ctx: ResourceContext) -> None:
        _log("start", ctx.uid)
        _pause()
        for path in self._found(ctx):
            shutil.rmtree(path)
        _log("end", ctx.uid)


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [DirProvisioner()]

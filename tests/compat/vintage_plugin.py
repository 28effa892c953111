"""podium-vintage: an out-of-tree plugin written against the Podium 0.1 docs, then left alone.

It uses only what the 0.1 plugin-author guide and reference showed, and the 0.1
import paths: ``from podium import hookimpl``, ``podium.provisioning.contract``,
``podium.deployment.contract``, ``podium.security.contract``,
``podium.security.secret``, ``podium.errors``, ``podium.platform.context``; the
0.1 provisioner declarations (``outputs``, ``secret_outputs``, ``replace_on``);
registration hooks taking ``settings`` and ``platform_name``; and tests written
with ``podium.testing.conformance`` and the ``podium_*`` fixtures. Do not
modernize it: it stands for every plugin already published.
"""

from __future__ import annotations

DIST = "podium-vintage"
VERSION = "0.1.3"

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "podium-vintage"
version = "0.1.3"
description = "Ledgers kept as directories, and manifests instead of deployments."
requires-python = ">=3.11"
dependencies = ["podium>=0.1,<0.2"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points."podium.plugins"]
vintage = "podium_vintage.plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/podium_vintage"]
"""

PLUGIN = '''\
"""podium-vintage's plugin module (entry point ``vintage``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from podium import hookimpl

PODIUM_API = ">=1.0,<2"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shelf: str | None = Field(None, description="Where ledgers live; default: <state_dir>/ledgers.")
    annotation: str = Field("team", description="The annotation every workload must carry.")


@hookimpl
def podium_provisioners(settings: Settings | None, platform_name: str) -> list[object]:
    from podium_vintage.ledgers import LedgerProvisioner

    return [LedgerProvisioner(settings.shelf if settings else None, platform_name)]


@hookimpl
def podium_deployers(settings: Settings | None) -> list[object]:
    from podium_vintage.manifests import ManifestDeployer

    return [ManifestDeployer()]


@hookimpl
def podium_policy_packs(settings: Settings | None, platform_name: str) -> list[object]:
    from podium_vintage.policy import AnnotationPolicy

    return [AnnotationPolicy(settings.annotation if settings else "team", platform_name)]
'''

LEDGERS = '''\
"""Ledgers: a directory per resource holding a generated token and the shard it lives on."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from podium.errors import ResourceError, TransientError
from podium.platform.context import EnvironmentInfo
from podium.provisioning.contract import Outputs, Provisioner, ResourceContext
from podium.security.secret import Secret


def default_shelf(env: EnvironmentInfo) -> Path:
    return env.state_dir / "ledgers"


class LedgerProvisioner(Provisioner):
    name = "vintage-ledger"
    resource_type = "ledger"
    outputs = ("path", "token", "shard")
    secret_outputs = frozenset({"token"})
    replace_on = frozenset({"shard"})

    def __init__(self, shelf: str | None = None, platform_name: str = "") -> None:
        self.shelf = Path(shelf) if shelf else None
        self.platform_name = platform_name

    def path(self, ctx: ResourceContext) -> Path:
        return (self.shelf or default_shelf(ctx.env)) / ctx.physical_name

    def create(self, ctx: ResourceContext) -> Outputs:
        path = self.path(ctx)
        token = ctx.generate_secret("token")
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / "shard").write_text(str(ctx.params.get("shard", 1)))
            (path / "owner").write_text(self.platform_name)
            (path / "token").write_text(token.reveal())  # last: a ledger with a token is whole
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise TransientError(f"no space left for {path}") from exc
            raise ResourceError(f"cannot create ledger {path}: {exc.strerror}") from exc
        return self.read(ctx) or {}

    def read(self, ctx: ResourceContext) -> Outputs | None:
        path = self.path(ctx)
        if not (path / "token").is_file():
            return None
        return {
            "path": str(path),
            "token": Secret((path / "token").read_text()),
            "shard": int((path / "shard").read_text()),
        }

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self.path(ctx), ignore_errors=True)
'''

MANIFESTS = '''\
"""A deployer that writes the rendered workload, secrets redacted, as a JSON manifest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from podium.deployment.contract import (
    DeployContext,
    Deployer,
    DeploymentResult,
    LogLine,
    RenderedWorkload,
    WorkloadStatus,
)
from podium.security.secret import redact


class ManifestDeployer(Deployer):
    name = "vintage-manifest"

    def manifest(self, ctx: DeployContext) -> Path:
        return ctx.env.state_dir / "manifests" / f"{ctx.workload}.json"

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        path = self.manifest(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        manifest = {"release": ctx.release, **redact(workload.model_dump(mode="python"))}
        path.write_text(json.dumps(manifest, indent=2, default=str))
        return DeploymentResult(message=f"wrote {path}", outputs={"manifest": str(path)})

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        state = "ready" if self.manifest(ctx).is_file() else "absent"
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        if self.manifest(ctx).is_file():
            yield LogLine(container=container or "main", text="manifest written")

    def destroy(self, ctx: DeployContext) -> None:
        self.manifest(ctx).unlink(missing_ok=True)
'''

POLICY = '''\
"""Every workload names its owner in an annotation (advisory)."""

from __future__ import annotations

from podium.security.contract import Finding, PolicyPack


class AnnotationPolicy(PolicyPack):
    name = "vintage"

    def __init__(self, annotation: str = "team", platform_name: str = "") -> None:
        self.annotation = annotation
        self.platform_name = platform_name

    def check_workload(self, workload, env):
        if self.annotation in workload.annotations:
            return []
        return [
            Finding(
                "vintage.owner-annotation",
                f"add the {self.annotation!r} annotation (required on {self.platform_name or env.platform})",
                subject=workload.name,
            )
        ]
'''

TESTS = '''\
"""podium-vintage's own tests: the conformance kits, the declarations, and a real platform."""

from pathlib import Path

import pytest

from podium.security.secret import Secret, reveal
from podium.testing.conformance import (
    DeployerConformance,
    PolicyPackConformance,
    ProvisionerConformance,
)
from podium_vintage.ledgers import LedgerProvisioner
from podium_vintage.manifests import ManifestDeployer
from podium_vintage.policy import AnnotationPolicy


class TestLedgers(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self):
        return LedgerProvisioner(platform_name="test")

    @pytest.fixture
    def resource_params(self):
        return {"shard": 2}

    @pytest.fixture
    def count_resources(self):
        def count(ctx):
            shelf = ctx.env.state_dir / "ledgers"
            return len(list(shelf.iterdir())) if shelf.is_dir() else 0

        return count


class TestManifests(DeployerConformance):
    @pytest.fixture
    def deployer(self):
        return ManifestDeployer()


class TestAnnotationPolicy(PolicyPackConformance):
    @pytest.fixture
    def policy_pack(self):
        return AnnotationPolicy("team", "test")


def test_the_token_is_a_secret_that_survives_a_second_create(podium_resource_context):
    ledgers = LedgerProvisioner()
    ctx = podium_resource_context(ledgers, params={"shard": 4})
    first = ledgers.create(ctx)
    assert isinstance(first["token"], Secret)
    assert "(sensitive)" in repr(first)
    assert reveal(ledgers.create(ctx)["token"]) == reveal(first["token"])
    assert first["shard"] == 4


def test_a_new_shard_replaces_the_ledger():
    ledgers = LedgerProvisioner()
    assert ledgers.requires_replace({"shard": 1}, {"shard": 2})
    assert not ledgers.requires_replace({"shard": 1}, {"shard": 1})


SCORE = """
apiVersion: score.dev/v1b1
metadata:
  name: books
containers:
  main:
    image: busybox:1.36
    variables:
      LEDGER: ${resources.ledger.path}
resources:
  ledger:
    type: ledger
"""


def test_the_installed_plugin_plans_and_applies(podium_platform, tmp_path):
    (tmp_path / "score.yaml").write_text(SCORE)
    platform = podium_platform(
        load_entrypoints=True,
        config={
            "plugins": {"allow": ["vintage"], "vintage": {"shelf": str(tmp_path / "shelf")}},
            "environments": {"dev": {"deployer": "vintage-manifest"}},
            "rules": [{"type": "ledger", "provisioner": "vintage-ledger"}],
        },
    )
    plan = platform.plan("dev", [tmp_path / "score.yaml"])
    assert platform.apply(plan).ok
    manifest = Path(platform.outputs("dev")["deployment:books"]["manifest"]).read_text()
    assert str(tmp_path / "shelf") in manifest
'''

#: The package, as its author left it in 0.1 days: relative path -> text.
FILES = {
    "pyproject.toml": PYPROJECT,
    "src/podium_vintage/__init__.py": '"""podium-vintage."""\n',
    "src/podium_vintage/plugin.py": PLUGIN,
    "src/podium_vintage/ledgers.py": LEDGERS,
    "src/podium_vintage/manifests.py": MANIFESTS,
    "src/podium_vintage/policy.py": POLICY,
    "tests/test_vintage.py": TESTS,
}

"""Rendering deployers (plugin API 1.3): ``Renderer``, ``podium_patch_manifests`` and
``podium render``, with an in-process deployer that renders plain objects."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from in_memory import InMemoryDeployer, in_process_platform

from podium import hookimpl
from podium.api import Platform
from podium.errors import InputError, ResourceError
from podium.plugin import (
    DeployContext,
    Deployer,
    DeploymentResult,
    LogLine,
    Output,
    Provisioner,
    RenderedWorkload,
    Renderer,
    Secret,
    WorkloadStatus,
)

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    tier: {tier}
containers:
  main:
    image: example/web:1
    command: [serve]
    variables:
      TOKEN: ${{resources.token.value}}
resources:
  token:
    type: token
"""
TOKEN = "render-token-canary-3319"


class TokenProvisioner(Provisioner):
    """A resource with a secret output, so workloads carry a Secret variable."""

    name = "tokens"
    resource_type = "token"
    output_fields: ClassVar[dict[str, Output]] = {"value": Output("The token.", sensitive=True)}

    def create(self, ctx: Any) -> dict[str, Any]:
        return {"value": Secret(TOKEN)}

    def read(self, ctx: Any) -> dict[str, Any]:
        return {"value": Secret(TOKEN)}

    def delete(self, ctx: Any) -> None:
        pass


class ListDeployer(Renderer, InMemoryDeployer[list[dict[str, Any]]]):
    """Renders one object per container; deploy keeps what ``manifests`` returned."""

    name = "lists"
    manifest_suffix = ".json"

    def __init__(self) -> None:
        super().__init__()
        self.checked = 0

    def render(self, ctx: DeployContext, workload: RenderedWorkload) -> list[dict[str, Any]]:
        return [
            {
                "kind": "Container",
                "name": f"{workload.name}-{name}",
                "release": ctx.release,
                "owner": ctx.owner,
                "env": sorted(k for k, v in c.variables.items() if not isinstance(v, Secret)),
                "secret_env": sorted(k for k, v in c.variables.items() if isinstance(v, Secret)),
            }
            for name, c in workload.containers.items()
        ]

    def check_manifests(
        self, ctx: DeployContext, workload: RenderedWorkload, objects: list[dict[str, Any]]
    ) -> None:
        self.checked += 1
        for obj in objects:
            if set(obj) - {"kind", "name", "release", "owner", "env", "secret_env", "tier"}:
                raise ResourceError(f"unknown field in {obj['name']}")

    def manifest_text(self, objects: list[dict[str, Any]]) -> str:
        return json.dumps(objects, indent=1, sort_keys=True) + "\n"

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        self.deployed[workload.name] = self.manifests(ctx, workload)
        return DeploymentResult()


class Patches:
    PODIUM_API = ">=1.3,<2"

    def __init__(self, patch: Any = None) -> None:
        self.patch = patch
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def podium_patch_manifests(
        self,
        workload: RenderedWorkload,
        objects: list[dict[str, Any]],
        env: Any,
        owner: str | None,
        deployer: str,
    ) -> None:
        self.calls.append(
            {
                "workload": workload.name,
                "owner": owner,
                "deployer": deployer,
                "environment": env.environment,
            }
        )
        for obj in objects:
            obj["tier"] = workload.annotations["tier"]
        if self.patch is not None:
            self.patch(workload, objects)


def make(tmp_path: Path, deployer: Deployer, patches: Patches) -> Platform:
    (tmp_path / "web.score.yaml").write_text(SCORE.format(tier="gold"))
    config = {
        "environments": {"prod": {"deployer": deployer.name}},
        "rules": [{"type": "token", "provisioner": "tokens"}],
    }
    return in_process_platform(
        tmp_path,
        config,
        "renders",
        deployer,
        api=">=1.3,<2",
        provisioners=[TokenProvisioner()],
        others=[("patches", patches)],
    )


def test_deploy_and_render_run_the_patches_and_check_again(tmp_path: Path) -> None:
    deployer, patches = ListDeployer(), Patches()
    with make(tmp_path, deployer, patches) as platform:
        platform.up("prod", [tmp_path / "web.score.yaml"])
        assert deployer.deployed["web"][0]["tier"] == "gold"  # the patch ran in deploy
        call = patches.calls[-1]
        assert (call["workload"], call["deployer"], call["environment"]) == ("web", "lists", "prod")
        # the hook and the deployer see the same owner
        assert call["owner"] == deployer.deployed["web"][0]["owner"]
        rendered = platform.render("prod", [tmp_path / "web.score.yaml"], out=tmp_path / "out")
    assert [m.workload for m in rendered] == ["web"]
    path = tmp_path / "out" / "web.json"
    assert rendered[0].path == path
    objects = json.loads(path.read_text())
    assert objects == deployer.deployed["web"]  # render shows what deploy ran
    assert objects[0]["release"] == 1 and objects[0]["secret_env"] == ["TOKEN"]
    assert TOKEN not in path.read_text()
    assert deployer.checked == 2


def test_a_patch_the_deployer_refuses_fails_render(tmp_path: Path) -> None:
    def typo(workload: RenderedWorkload, objects: list[dict[str, Any]]) -> None:
        objects[0]["replicaz"] = 2

    with make(tmp_path, ListDeployer(), Patches()) as platform:
        platform.up("prod", [tmp_path / "web.score.yaml"])
    with (
        make(tmp_path, ListDeployer(), Patches(typo)) as platform,
        pytest.raises(Exception) as refused,
    ):
        platform.render("prod", [tmp_path / "web.score.yaml"], out=tmp_path / "out")
    cause = getattr(refused.value, "original", refused.value)  # attributed to the plugin
    assert isinstance(cause, ResourceError) and "unknown field" in str(cause)
    assert not (tmp_path / "out").exists()


def test_render_refuses_a_file_holding_a_secret_value(tmp_path: Path) -> None:
    def leak(workload: RenderedWorkload, objects: list[dict[str, Any]]) -> None:
        objects[0]["env"] = [workload.containers["main"].variables["TOKEN"].reveal()]

    with make(tmp_path, ListDeployer(), Patches()) as platform:
        platform.up("prod", [tmp_path / "web.score.yaml"])
    with (
        make(tmp_path, ListDeployer(), Patches(leak)) as platform,
        pytest.raises(ResourceError, match="secret values") as refused,
    ):
        platform.render("prod", [tmp_path / "web.score.yaml"], out=tmp_path / "out")
    assert TOKEN not in str(refused.value)
    assert not (tmp_path / "out" / "web.json").exists()


def test_render_needs_provisioned_resources_and_a_rendering_deployer(tmp_path: Path) -> None:
    with (
        make(tmp_path, ListDeployer(), Patches()) as platform,
        pytest.raises(InputError, match="not provisioned"),
    ):
        platform.render("prod", [tmp_path / "web.score.yaml"])

    class NotRendering(Deployer):
        name = "norender"

        def deploy(self, ctx: Any, workload: Any) -> DeploymentResult:
            return DeploymentResult()

        def status(self, ctx: Any) -> WorkloadStatus:
            return WorkloadStatus(workload=ctx.workload, state="absent")

        def logs(self, ctx: Any, **kwargs: Any) -> Iterator[LogLine]:
            return iter(())

        def destroy(self, ctx: Any) -> None:
            pass

    (tmp_path / "q").mkdir()
    with (
        make(tmp_path / "q", NotRendering(), Patches()) as platform,
        pytest.raises(InputError, match="cannot render"),
    ):
        platform.render("prod", [tmp_path / "q" / "web.score.yaml"])


def test_the_cli_renders_to_a_directory(tmp_path: Path) -> None:
    """``podium render`` is a registered command with --out, -e and -f."""
    result = subprocess.run(
        [sys.executable, "-m", "podium", "render", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for option in ("--out", "-e", "-f"):
        assert option in result.stdout


def test_a_rollback_renders_the_release_again_with_the_patches(tmp_path: Path) -> None:
    deployer, patches = ListDeployer(), Patches()
    with make(tmp_path, deployer, patches) as platform:
        platform.up("prod", [tmp_path / "web.score.yaml"])
        (tmp_path / "web.score.yaml").write_text(SCORE.format(tier="silver"))
        platform.up("prod", [tmp_path / "web.score.yaml"])
        assert deployer.deployed["web"][0]["tier"] == "silver"
        platform.rollback("prod", "web")
    assert deployer.deployed["web"][0]["tier"] == "gold"  # patched again, from release 1
    assert patches.calls[-1]["deployer"] == "lists"

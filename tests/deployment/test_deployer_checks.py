"""The environment's deployer checks workloads at validate and plan time.

``podium_validate_workload`` does not know which deployer an environment uses, so what a
deployer cannot run surfaced only half-way through ``podium up``. Now the deployer's
``check_workload`` runs during ``validate`` and ``plan``, with the Score file's line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from in_memory import in_process_platform

from podium.api import Platform
from podium.errors import PluginError, PolicyBlockedError
from podium.plugin import (
    DeployContext,
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    Finding,
    LogLine,
    RenderedWorkload,
    Workload,
    WorkloadStatus,
)

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
  helper:
    image: busybox:1.36
    command: [sleep, "60"]
"""


class ProcessOnlyDeployer(Deployer):
    """Runs commands, never images: every container needs a ``command``."""

    name = "process-only"

    def __init__(self, raises: bool = False) -> None:
        self.raises = raises
        self.deployed: list[str] = []

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterable[Finding]:
        if self.raises:
            raise RuntimeError("the check itself broke")
        for name, spec in workload.containers.items():
            if not spec.get("command"):
                location = workload.location("containers", name, "image")
                yield Finding(
                    "process-only.command-required",
                    f"container {name!r} needs a command",
                    level="mandatory",
                    location=str(location),
                )

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        self.deployed.append(workload.name)
        return DeploymentResult()

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        return WorkloadStatus(workload=ctx.workload, state="ready")

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
        pass


def platform_for(tmp_path: Path, deployer: Deployer, **config: Any) -> Platform:
    environments = {"dev": {"deployer": deployer.name}, "bare": {}}
    return in_process_platform(
        tmp_path, {"environments": environments, **config}, "checks", deployer
    )


@pytest.fixture
def score(tmp_path: Path) -> Path:
    path = tmp_path / "web.score.yaml"
    path.write_text(SCORE)
    return path


def test_validate_reports_what_the_deployer_cannot_run_with_file_and_line(
    tmp_path: Path, score: Path
) -> None:
    with platform_for(tmp_path, ProcessOnlyDeployer()) as platform:
        findings = platform.validate("dev", [score])
    assert [(f.policy, f.level, f.subject, f.location) for f in findings] == [
        ("process-only.command-required", "mandatory", "web", f"{score}:6:5")
    ]


def test_a_plan_is_blocked_and_nothing_is_deployed(tmp_path: Path, score: Path) -> None:
    deployer = ProcessOnlyDeployer()
    with platform_for(tmp_path, deployer) as platform:
        plan = platform.plan("dev", [score])
        assert [f.policy for f in plan.blocking_findings] == ["process-only.command-required"]
        with pytest.raises(PolicyBlockedError):
            platform.apply(plan)
    assert deployer.deployed == []


def test_policy_levels_do_not_turn_a_deployer_finding_off(tmp_path: Path, score: Path) -> None:
    config = {"policies": {"process-only": "off"}}
    with platform_for(tmp_path, ProcessOnlyDeployer(), **config) as platform:
        plan = platform.plan("dev", [score])
    assert [f.level for f in plan.findings] == ["mandatory"]


def test_a_check_that_raises_fails_closed_naming_the_plugin(tmp_path: Path, score: Path) -> None:
    platform = platform_for(tmp_path, ProcessOnlyDeployer(raises=True))
    with platform, pytest.raises(PluginError, match="the check itself broke") as caught:
        platform.plan("dev", [score])
    assert caught.value.plugin == "checks"


def test_an_environment_without_a_deployer_asks_none(tmp_path: Path, score: Path) -> None:
    with platform_for(tmp_path, ProcessOnlyDeployer(raises=True)) as platform:
        assert platform.validate("bare", [score]) == []

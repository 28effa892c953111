"""What a deployer learns from its DeployContext (contract v2), and 0.1 deployers still working.

A deployer used to get only the workload, the environment and a release number: no
previous release, no recorded outputs to find what an earlier attempt started, no
deadline, no cancellation and no logger. These tests drive a real Platform (in process)
with deployers that record the context of every call.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from in_memory import InMemoryDeployer, in_process_platform

from podium.api import Platform
from podium.plugin import (
    CancelSignal,
    DeployContext,
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    LogLine,
    RenderedWorkload,
    WorkloadStatus,
)

SCORE = """\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: example/web:{version}
    command: [serve]
"""


class RecordingDeployer(Deployer):
    """Keeps every context it is called with; ``hold`` makes deploy wait for a cancel."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[tuple[str, DeployContext]] = []
        self.running: dict[str, int] = {}
        self.hold: threading.Event | None = None
        self.entered = threading.Event()
        self.seen_cancel: bool | None = None

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        self.calls.append(("deploy", ctx))
        ctx.logger.info("deploying release %s", ctx.release)
        if self.hold is not None:
            self.entered.set()
            self.seen_cancel = ctx.cancel.wait(30)
        self.running[ctx.workload] = ctx.release
        return DeploymentResult(
            outputs={"service_id": f"svc-{ctx.workload}-{ctx.release}"},
            urls=[f"http://{ctx.workload}.test"],
        )

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        self.calls.append(("status", ctx))
        state = "ready" if ctx.workload in self.running else "absent"
        return WorkloadStatus(workload=ctx.workload, state=state)

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        self.calls.append(("logs", ctx))
        yield LogLine(container="main", text="hello")

    def destroy(self, ctx: DeployContext) -> None:
        self.calls.append(("destroy", ctx))
        self.running.pop(ctx.workload, None)

    def last(self, call: str) -> DeployContext:
        return [ctx for name, ctx in self.calls if name == call][-1]


class LegacyDeployer(InMemoryDeployer[int]):
    """Written against the 0.1 contract: rebuilds contexts positionally, copies them, and
    knows nothing of the new fields or of check_workload."""

    name = "legacy"

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        rebuilt = DeployContext(ctx.workload, ctx.env, ctx.release)
        assert rebuilt == ctx  # the new fields take no part in equality
        assert dataclasses.replace(ctx, release=ctx.release) == ctx
        assert copy.copy(ctx) == ctx
        self.deployed[rebuilt.workload] = rebuilt.release
        return DeploymentResult(message=f"release {rebuilt.release}")


def platform_for(tmp_path: Path, deployer: Deployer, **engine: Any) -> Platform:
    config = {"environments": {"dev": {"deployer": deployer.name}}, "engine": engine}
    return in_process_platform(tmp_path, config, "ctxtest", deployer)


def score(tmp_path: Path, version: int) -> Path:
    path = tmp_path / "web.score.yaml"
    path.write_text(SCORE.format(version=version))
    return path


def test_a_redeploy_gets_the_previous_release_and_its_recorded_outputs(tmp_path: Path) -> None:
    deployer = RecordingDeployer()
    with platform_for(tmp_path, deployer) as platform:
        platform.up("dev", [score(tmp_path, 1)])
        first = deployer.last("deploy")
        assert (first.release, first.previous_release, dict(first.previous_outputs)) == (
            1,
            None,
            {},
        )
        platform.up("dev", [score(tmp_path, 2)])
        second = deployer.last("deploy")
        assert second.release == 2
        assert second.previous_release == 1
        assert second.previous_outputs["service_id"] == "svc-web-1"
        assert second.previous_outputs["urls"] == ["http://web.test"]

        # status, logs and destroy see the release recorded as running, and its outputs
        platform.status("dev")
        assert deployer.last("status").previous_release == 2
        assert deployer.last("status").previous_outputs["service_id"] == "svc-web-2"
        list(platform.logs("dev", "web"))
        assert deployer.last("logs").previous_outputs["service_id"] == "svc-web-2"
        platform.apply(platform.plan("dev", destroy=True))
        assert deployer.last("destroy").previous_outputs["service_id"] == "svc-web-2"


def test_the_logger_is_bound_to_the_plugin_under_podium(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    deployer = RecordingDeployer()
    with caplog.at_level(logging.INFO, logger="podium"), platform_for(tmp_path, deployer) as p:
        p.up("dev", [score(tmp_path, 1)])
    ctx = deployer.last("deploy")
    assert ctx.logger.name == "podium.plugins.ctxtest.recording"
    records = [r for r in caplog.records if r.name == "podium.plugins.ctxtest.recording"]
    assert [r.getMessage() for r in records] == ["deploying release 1"]
    # no handler of its own: records go wherever the host sends the "podium" tree
    assert ctx.logger.handlers == []


def test_the_deadline_is_the_engine_timeout(tmp_path: Path) -> None:
    deployer = RecordingDeployer()
    with platform_for(tmp_path, deployer) as platform:
        platform.up("dev", [score(tmp_path, 1)])
    assert deployer.last("deploy").deadline is None  # no engine.timeout: no deadline
    deployer = RecordingDeployer()
    with platform_for(tmp_path / "timed", deployer, timeout=120) as platform:
        platform.up("dev", [score(tmp_path, 1)])
    left = deployer.last("deploy").time_left()
    assert left is not None and 0 < left <= 120


def test_platform_cancel_reaches_a_deploy_that_waits(tmp_path: Path) -> None:
    deployer = RecordingDeployer()
    deployer.hold = threading.Event()
    with platform_for(tmp_path, deployer) as platform:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                platform.up("dev", [score(tmp_path, 1)])
            except BaseException as exc:  # the run's outcome is checked below
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        assert deployer.entered.wait(30)
        assert platform.cancel() == 1
        worker.join(30)
        assert not worker.is_alive()
    assert deployer.seen_cancel is True  # woke on the cancel, not after its 30 s wait
    assert deployer.last("deploy").cancelled


def test_a_context_built_by_hand_has_working_defaults(tmp_path: Path) -> None:
    env = EnvironmentInfo("p", "dev", tmp_path)
    ctx = DeployContext("web", env, 3)
    assert ctx.previous_release is None and dict(ctx.previous_outputs) == {}
    assert ctx.deadline is None and ctx.time_left() is None and ctx.time_left(5) == 5
    assert not ctx.cancelled and ctx.sleep(0) is True
    assert ctx.logger.name.startswith("podium.")
    stop = threading.Event()
    stop.set()
    cancelled = DeployContext("web", env, cancel=CancelSignal(stop))
    assert cancelled.cancelled and cancelled.sleep(10) is False


def test_a_0_1_deployer_deploys_reports_and_destroys_unchanged(tmp_path: Path) -> None:
    deployer = LegacyDeployer()
    with platform_for(tmp_path, deployer) as platform:
        assert platform.validate("dev", [score(tmp_path, 1)]) == []  # no check_workload
        platform.up("dev", [score(tmp_path, 1)])
        platform.up("dev", [score(tmp_path, 2)])
        assert deployer.deployed == {"web": 2}
        assert [s.state for s in platform.status("dev")] == ["ready"]
        platform.apply(platform.plan("dev", destroy=True))
        assert deployer.deployed == {}


def test_a_failed_deploy_is_retried_knowing_what_still_runs(tmp_path: Path) -> None:
    """A deploy that raised is recorded as failed: the next one is a new release, and its
    context names the release that still runs (the last good one) and its outputs."""

    class FailingOnce(RecordingDeployer):
        failed = False

        def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
            if ctx.release == 2 and not self.failed:
                self.failed = True
                self.calls.append(("deploy", ctx))
                raise RuntimeError("half-way")
            return super().deploy(ctx, workload)

    deployer = FailingOnce()
    with platform_for(tmp_path, deployer) as platform:
        platform.up("dev", [score(tmp_path, 1)])
        _, failed = platform.up("dev", [score(tmp_path, 2)])
        assert not failed.ok
        platform.up("dev", [score(tmp_path, 2)])
    deploys = [ctx for name, ctx in deployer.calls if name == "deploy"]
    assert [ctx.release for ctx in deploys] == [1, 2, 3]
    # the retry replaces what runs: release 1 is still recorded as running
    assert deploys[-1].previous_release == 1
    assert deploys[-1].previous_outputs["service_id"] == "svc-web-1"

"""The ``kubernetes`` deployer: render, then hand off (files), run (podman) or apply (cluster)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from podium.plugin import (
    DeployContext,
    Deployer,
    DeploymentResult,
    EnvironmentInfo,
    Finding,
    LogLine,
    Release,
    RenderedWorkload,
    Renderer,
    WorkloadStatus,
)
from podium_kubernetes.render import Target, render_objects
from podium_kubernetes.settings import EnvironmentOptions, Settings
from podium_kubernetes.validation import validate_objects

if TYPE_CHECKING:
    from pathlib import Path

    from podium.plugin import PlatformInfo, Workload
    from podium_kubernetes.backend import Backend


class KubernetesDeployer(Renderer, Deployer):
    """Each workload as Kubernetes objects; the environment's mode decides what happens to them."""

    name: ClassVar[str] = "kubernetes"

    def __init__(
        self, settings: Settings | None = None, platform: PlatformInfo | None = None
    ) -> None:
        self.settings = settings or Settings()
        self.platform = platform

    # --- Renderer -------------------------------------------------------------
    def options(self, env: EnvironmentInfo) -> EnvironmentOptions:
        return self.settings.for_environment(env.environment)

    def render(self, ctx: DeployContext, workload: RenderedWorkload) -> list[dict[str, Any]]:
        target = Target(
            platform=ctx.env.platform,
            environment=ctx.env.environment,
            release=ctx.release,
            owner=ctx.owner,
            options=self.options(ctx.env),
        )
        return render_objects(workload, target)

    def check_manifests(
        self, ctx: DeployContext, workload: RenderedWorkload, objects: list[dict[str, Any]]
    ) -> None:
        validate_objects(workload.name, objects, self.settings.kubernetes_version)

    # --- plan-time checks -----------------------------------------------------
    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterable[Finding]:
        from podium_kubernetes.checks import workload_findings

        return workload_findings(workload, self.options(env), self.mode(env))

    # --- Deployer ---------------------------------------------------------------
    def mode(self, env: EnvironmentInfo) -> str:
        return self.options(env).mode

    def backend(self, env: EnvironmentInfo) -> Backend:
        options = self.options(env)
        if options.mode == "render":
            from podium_kubernetes.gitops import FileBackend

            return FileBackend(env, options, self.root())
        if options.mode == "podman":
            from podium_kubernetes.podman import PodmanBackend

            return PodmanBackend(env, options)
        from podium_kubernetes.cluster import ClusterBackend

        return ClusterBackend(env, options)

    def root(self) -> Path | None:
        return self.platform.root if self.platform is not None else None

    def deploy(self, ctx: DeployContext, workload: RenderedWorkload) -> DeploymentResult:
        objects = self.manifests(ctx, workload)
        return self.backend(ctx.env).deploy(ctx, workload, objects, self.manifest_text(objects))

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        return self.backend(ctx.env).status(ctx)

    def logs(
        self,
        ctx: DeployContext,
        *,
        container: str | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine]:
        return self.backend(ctx.env).logs(ctx, container=container, follow=follow, tail=tail)

    def rollback(self, ctx: DeployContext, release: Release) -> DeploymentResult:
        """The earlier release's workload, rendered and run again as release ``ctx.release``."""
        return self.deploy(ctx, release.workload)

    def destroy(self, ctx: DeployContext) -> None:
        self.backend(ctx.env).destroy(ctx)

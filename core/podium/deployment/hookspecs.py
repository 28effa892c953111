"""Deployment hooks: deployers, enrichment of rendered workloads, patches to rendered manifests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from podium.deployment.contract import Deployer, RenderedWorkload
from podium.platform.context import EnvironmentInfo, PlatformInfo
from podium.plugins.markers import hookspec


@hookspec
def podium_deployers(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[Deployer]:
    """Register deployers (registration hook).

    ``[environments.<env>] deployer = "<name>"`` picks the deployer for an environment.
    What a deployer must do (the crash contract, ``before``, errors and exit codes,
    ports, placeholders) is the text of :mod:`podium.deployment.contract`; the
    environment's deployer also checks each workload at ``validate`` and ``plan`` time
    (:meth:`Deployer.check_workload <podium.deployment.contract.Deployer.check_workload>`).

    Example::

        from podium.plugin import Deployer, DeploymentResult, WorkloadStatus, hookimpl

        class EchoDeployer(Deployer):
            name = "echo"

            def deploy(self, ctx, workload):
                print("deploying", workload.name, "release", ctx.release)
                return DeploymentResult(message="printed")

            def status(self, ctx):
                return WorkloadStatus(workload=ctx.workload, state="ready")

            def logs(self, ctx, *, container=None, follow=False, tail=None):
                return iter(())

            def destroy(self, ctx):
                pass

        @hookimpl
        def podium_deployers():
            return [EchoDeployer()]
    """


@hookspec
def podium_enrich_deployment(workload: RenderedWorkload, env: EnvironmentInfo) -> None:
    """Adjust a rendered workload just before it is deployed (broadcast hook).

    Every plugin may implement it; implementations run in registration order and
    change ``workload`` in place (labels, extra variables, extensions). The
    result is recorded in the release, so rollback redeploys exactly it.

    Example::

        @hookimpl
        def podium_enrich_deployment(workload, env):
            workload.labels["team"] = workload.annotations.get("team", "unknown")
            workload.labels["environment"] = env.environment
    """


@hookspec
def podium_patch_manifests(
    workload: RenderedWorkload,
    objects: list[dict[str, Any]],
    env: EnvironmentInfo,
    owner: str | None,
    deployer: str,
) -> None:
    """Change the objects a rendering deployer made for a workload (broadcast hook, API 1.3).

    Called for deployers that render manifests (:class:`~podium.deployment.contract.Renderer`:
    podium-kubernetes, ``podium render``) after rendering and before anything runs or
    is written; implementations run in registration order and change ``objects`` in
    place (edit, append or remove objects). They get the full context: the rendered
    ``workload`` (annotations, labels, containers), the environment, the workload's
    ``owner`` (team) and the ``deployer``'s name. The deployer validates the result
    again, so a patch cannot produce an object its schema refuses. Never put a secret
    value into an object: rendered files are not secret.

    Example::

        @hookimpl
        def podium_patch_manifests(workload, objects, env, owner):
            for obj in objects:
                if obj["kind"] == "Deployment" and env.environment == "prod":
                    obj["spec"]["template"]["spec"]["priorityClassName"] = "business"
                    obj["metadata"].setdefault("labels", {})["cost-centre"] = owner or "shared"
    """

"""cluster mode: server-side apply with lightkube, rollout status, logs, prune by label.

Kept thin on purpose (no API server runs where Podium's CI does): the objects are the
ones render and podman modes use; this module only sends them, prunes what the
workload no longer renders, and reads rollout status (:mod:`podium_kubernetes.rollout`).
The client comes from ``KUBECONFIG`` (or in-cluster configuration); every request is
made under the field manager ``podium``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from podium.plugin import (
    DeployContext,
    DeploymentResult,
    EnvironmentInfo,
    LogLine,
    NotFoundError,
    RenderedWorkload,
    ResourceError,
    TransientError,
    WorkloadStatus,
)
from podium_kubernetes.names import dns_label, label_value
from podium_kubernetes.render import (
    ENVIRONMENT_LABEL,
    PLATFORM_LABEL,
    WORKLOAD_LABEL,
    selector_labels,
)
from podium_kubernetes.rollout import container_states, rollout_state
from podium_kubernetes.settings import EnvironmentOptions

FIELD_MANAGER = "podium"
#: What a workload may own, checked when pruning and destroying (namespaced kinds).
OWNED_KINDS = (
    ("external-secrets.io/v1", "ExternalSecret"),
    ("v1", "ConfigMap"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job", "CronJob")
POLL_SECONDS = 2.0


@cache
def resource_class(api_version: str, kind: str) -> Any:
    """The lightkube class for a kind (a generic one for ExternalSecret)."""
    if kind == "ExternalSecret":
        from lightkube.generic_resource import create_namespaced_resource

        group, version = api_version.split("/")
        return create_namespaced_resource(group, version, kind, "externalsecrets")
    from lightkube.core.resource_registry import resource_registry

    return resource_registry.load(api_version, kind)


def default_client(namespace: str | None) -> Any:
    from lightkube import Client
    from lightkube.config.kubeconfig import KubeConfig

    try:
        config = KubeConfig.from_env()
    except Exception as exc:  # lightkube raises its own ConfigError for a missing file
        raise ResourceError(
            f"no Kubernetes configuration: {exc}",
            hint="set KUBECONFIG to a kubeconfig that reaches the cluster",
        ) from None
    return Client(config=config, namespace=namespace, field_manager=FIELD_MANAGER, trust_env=False)


class ClusterBackend:
    def __init__(
        self,
        env: EnvironmentInfo,
        options: EnvironmentOptions,
        client_factory: Callable[[str | None], Any] = default_client,
    ) -> None:
        self.env = env
        self.options = options
        self._factory = client_factory
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory(self.options.namespace)
        return self._client

    def labels(self, workload: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/managed-by": "podium",
            PLATFORM_LABEL: label_value(self.env.platform),
            ENVIRONMENT_LABEL: label_value(self.env.environment),
            WORKLOAD_LABEL: dns_label(workload),
        }

    def owned(self, workload: str) -> Iterator[tuple[Any, Any]]:
        """Every object the workload owns in the cluster: (class, object)."""
        for api_version, kind in OWNED_KINDS:
            cls = resource_class(api_version, kind)
            try:
                for obj in self.client.list(cls, labels=self.labels(workload)):
                    yield cls, obj
            except Exception as exc:
                if _status_code(exc) == 404:  # the kind is not served (no External Secrets CRD)
                    continue
                raise _api_error(f"list {kind}", exc) from None

    # --- deploy -----------------------------------------------------------------
    def deploy(
        self,
        ctx: DeployContext,
        workload: RenderedWorkload,
        objects: list[dict[str, Any]],
        text: str,
    ) -> DeploymentResult:
        from lightkube import codecs

        for api_version, kind in {(o["apiVersion"], o["kind"]) for o in objects}:
            resource_class(api_version, kind)  # registers generic kinds for from_dict
        desired = set()
        for obj in objects:
            desired.add((obj["kind"], obj["metadata"]["name"]))
            try:
                self.client.apply(codecs.from_dict(obj), field_manager=FIELD_MANAGER, force=True)
            except Exception as exc:
                raise _api_error(f"apply {obj['kind']}/{obj['metadata']['name']}", exc) from None
        pruned = self.prune(workload.name, desired)
        main = next(o for o in objects if o["kind"] in WORKLOAD_KINDS)
        self.wait(ctx, main)
        message = f"applied {len(objects)} objects"
        return DeploymentResult(
            outputs={
                "kind": main["kind"],
                "name": main["metadata"]["name"],
                "release": ctx.release,
            },
            message=message + (f", pruned {pruned}" if pruned else ""),
        )

    def prune(self, workload: str, desired: set[tuple[str, str]]) -> int:
        """Delete what the workload owned and no longer renders; how many were deleted."""
        gone = 0
        for cls, obj in list(self.owned(workload)):
            if (obj.kind, obj.metadata.name) not in desired:
                self.client.delete(cls, obj.metadata.name, namespace=obj.metadata.namespace)
                gone += 1
        return gone

    def wait(self, ctx: DeployContext, main: dict[str, Any]) -> None:
        cls = resource_class(main["apiVersion"], main["kind"])
        limit = ctx.time_left(self.options.ready_timeout) or self.options.ready_timeout
        waited = 0.0
        while True:
            state, message = rollout_state(self.get(cls, main["metadata"]["name"]) or {})
            if state == "ready":
                return
            if state == "failed" or waited >= limit or ctx.cancelled:
                raise ResourceError(
                    f"{main['kind']}/{main['metadata']['name']} did not roll out: {message}",
                    hint="podium status and podium logs show the pods",
                )
            ctx.sleep(POLL_SECONDS)
            waited += POLL_SECONDS

    def get(self, cls: Any, name: str) -> dict[str, Any] | None:
        try:
            obj = self.client.get(cls, name)
        except Exception as exc:
            if _status_code(exc) == 404:
                return None
            raise _api_error(f"get {name}", exc) from None
        result: dict[str, Any] = obj.to_dict()
        return result

    # --- status, logs, destroy ---------------------------------------------------------
    def main_object(self, workload: str) -> dict[str, Any] | None:
        for api_version, kind in OWNED_KINDS:
            if kind in WORKLOAD_KINDS:
                found = self.get(resource_class(api_version, kind), dns_label(workload))
                if found is not None:
                    return found
        return None

    def pods(self, main: dict[str, Any]) -> list[dict[str, Any]]:
        from lightkube.resources.core_v1 import Pod

        selector = selector_labels(main["metadata"]["name"], _target_of(self.env))
        return [p.to_dict() for p in self.client.list(Pod, labels=selector)]

    def status(self, ctx: DeployContext) -> WorkloadStatus:
        main = self.main_object(ctx.workload)
        if main is None:
            return WorkloadStatus(
                workload=ctx.workload, state="absent", message="not in the cluster"
            )
        state, message = rollout_state(main)
        template = main["spec"].get("template") or main["spec"].get("jobTemplate", {}).get(
            "spec", {}
        ).get("template", {})
        names = [c["name"] for c in template.get("spec", {}).get("containers", [])]
        containers = container_states(self.pods(main), names)
        return WorkloadStatus(
            workload=ctx.workload,
            state="down" if state == "failed" else state,  # type: ignore[arg-type]
            message=f"{main['kind']}/{main['metadata']['name']}: {message}",
            containers=containers,
            redeploy=None if state in ("down", "failed") else False,
        )

    def logs(
        self, ctx: DeployContext, *, container: str | None, follow: bool, tail: int | None
    ) -> Iterator[LogLine]:
        main = self.main_object(ctx.workload)
        if main is None:
            raise NotFoundError(f"{ctx.workload} is not in the cluster")
        pods = self.pods(main)
        for pod in pods:
            names = [c["name"] for c in pod["spec"]["containers"]]
            if container is not None and container not in names:
                raise NotFoundError(
                    f"{ctx.workload} has no container {container!r}", hint=", ".join(names)
                )
            for name in [container] if container else names:
                for text in self.client.log(
                    pod["metadata"]["name"], container=name, follow=follow, tail_lines=tail
                ):
                    yield LogLine(container=name, text=str(text).rstrip("\n"))

    def destroy(self, ctx: DeployContext) -> None:
        self.prune(ctx.workload, set())


def _target_of(env: EnvironmentInfo) -> Any:
    from podium_kubernetes.render import Target
    from podium_kubernetes.settings import EnvironmentOptions

    return Target(env.platform, env.environment, 1, None, EnvironmentOptions())


def _status_code(exc: Exception) -> int | None:
    status = getattr(exc, "status", None)
    code = getattr(status, "code", None)
    return code if isinstance(code, int) else None


def _api_error(what: str, exc: Exception) -> Exception:
    code = _status_code(exc)
    if code is None or code >= 500 or code == 429:
        return TransientError(f"Kubernetes API: {what}: {exc}")
    return ResourceError(f"Kubernetes API: {what}: {exc}")

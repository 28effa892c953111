"""``[plugins.kubernetes]`` in ``podium.toml``: one block of options per environment."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["render", "podman", "cluster"]


class EnvironmentOptions(BaseModel):
    """``[plugins.kubernetes.environments.<env>]``: how one environment runs its workloads."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Field(
        default="render",
        description="render: write manifests (GitOps hand-off); podman: run them with "
        "podman kube play; cluster: server-side apply to the cluster KUBECONFIG names.",
    )
    namespace: str | None = Field(
        default=None, description="The namespace objects are rendered into (none: the default)."
    )
    output_dir: str | None = Field(
        default=None,
        description="render mode: the directory manifests are written to, one file per "
        "workload (relative to podium.toml; default: in the environment's state directory).",
    )
    git_repository: str | None = Field(
        default=None,
        description="render mode: a local git repository (relative to podium.toml) to commit "
        "the manifests to after each deploy; output_dir must lie inside it. Never pushed.",
    )
    replicas: int = Field(default=1, ge=0, description="Replicas unless podium.dev/replicas says.")
    autoscale: str | None = Field(
        default=None,
        description="A HorizontalPodAutoscaler for every Deployment and StatefulSet: "
        "'MIN-MAX' replicas (podium.dev/autoscale wins).",
    )
    disruption_budget: str | None = Field(
        default=None,
        description="A PodDisruptionBudget for every Deployment and StatefulSet: its "
        "minAvailable, a number or a percentage (podium.dev/disruption-budget wins).",
    )
    ingress_class: str | None = Field(
        default=None, description="ingressClassName of the Ingress made for route resources."
    )
    secrets: Literal["external-secrets", "omit"] = Field(
        default="external-secrets",
        description="How secret values reach pods: external-secrets renders an ExternalSecret "
        "(external-secrets.io/v1) per workload; omit renders none and expects the Secret "
        "<workload>-secrets to exist. Secret values are never rendered.",
    )
    secret_store: str = Field(
        default="podium",
        description="The (Cluster)SecretStore the ExternalSecret reads from.",
    )
    secret_store_kind: Literal["ClusterSecretStore", "SecretStore"] = Field(
        default="ClusterSecretStore", description="The kind of secret_store."
    )
    secret_key_prefix: str = Field(
        default="",
        description="Prefix of the remote key: a workload's secrets are read from "
        "'<prefix><platform>/<environment>/<workload>', one property per variable or file.",
    )
    images: dict[str, str] = Field(
        default_factory=dict,
        description="Score image -> image to run in this environment (a local image for "
        "podman mode, say); Score files stay unchanged.",
    )
    ready_timeout: float = Field(
        default=120.0,
        gt=0,
        description="Seconds deploy waits for pods to be ready (podman, cluster).",
    )


class Settings(BaseModel):
    """``[plugins.kubernetes]``."""

    model_config = ConfigDict(extra="forbid")

    kubernetes_version: str | None = Field(
        default=None,
        description="The Kubernetes version every object is validated against (strict "
        "schemas of kubernetes-validate); default: the newest it knows.",
    )
    environments: dict[str, EnvironmentOptions] = Field(
        default_factory=dict,
        description="Options per environment using the kubernetes deployer (render mode "
        "with defaults when an environment is not listed).",
    )

    def for_environment(self, name: str) -> EnvironmentOptions:
        return self.environments.get(name) or EnvironmentOptions()

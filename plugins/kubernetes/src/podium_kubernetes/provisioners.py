"""Provisioners whose resources the rendered objects carry or refer to.

In a cluster the workload's objects make these things (an Ingress for a route, a
PersistentVolumeClaim for a volume), or the platform runs them already (a database
service, a cache): the provisioner only computes outputs for placeholders. Secret
outputs come from the platform's secret store (``podium secrets set``); rendered
manifests refer to them through the workload's Secret and never hold them.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from podium.plugin import (
    EnvironmentSecrets,
    LocalSecretStore,
    NotFoundError,
    Output,
    Outputs,
    Param,
    Provisioner,
    ResourceContext,
    ResourceError,
    Secret,
)
from podium_kubernetes.names import dns_label


class _Params(BaseModel):
    # Params for other environments' provisioners may be present: ignore, do not refuse.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class _Computed(Provisioner):
    """Outputs computed from params. Nothing real is created here, but the provisioner
    contract says ``read`` finds nothing before ``create`` and after ``delete``: a marker
    file per resource in the environment's state directory gives it that lifecycle."""

    @abstractmethod
    def compute(self, ctx: ResourceContext) -> Outputs:
        """The outputs, from the params (and platform secrets)."""

    @staticmethod
    def marker(ctx: ResourceContext) -> Path:
        return ctx.env.state_dir / "kubernetes" / "references" / ctx.physical_name

    def create(self, ctx: ResourceContext) -> Outputs:
        outputs = self.compute(ctx)
        marker = self.marker(ctx)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        return outputs

    def read(self, ctx: ResourceContext) -> Outputs | None:
        return self.compute(ctx) if self.marker(ctx).exists() else None

    def delete(self, ctx: ResourceContext) -> None:
        """Forget it; the objects that carry it go with the workload's (prune, destroy)."""
        self.marker(ctx).unlink(missing_ok=True)


class RouteParams(_Params):
    host: str = Param(description="The host name the Ingress serves.")
    path: str = Param("/", description="The path prefix to route (default /).")
    port: str = Param(description="The workload's Score port: its name or number.")


class RouteProvisioner(_Computed):
    """``route``: a rule of the workload's Ingress."""

    name: ClassVar[str] = "kubernetes-route"
    resource_type: ClassVar[str] = "route"
    params_model = RouteParams
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The routed host."),
        "path": Output("The routed path prefix."),
        "port": Output("The Score port routed to."),
        "url": Output("https://host/path."),
    }

    def compute(self, ctx: ResourceContext) -> Outputs:
        host, path = str(ctx.params.get("host") or ""), str(ctx.params.get("path") or "/")
        if not host or ctx.params.get("port") in (None, ""):
            raise ResourceError(f"{ctx.uid}: a route needs params host and port")
        return {
            "host": host,
            "path": path,
            "port": str(ctx.params["port"]),
            "url": f"https://{host}{path}",
        }


class VolumeParams(_Params):
    size: str = Param("1Gi", description="The claim's storage request.")
    # A claim's access modes and class cannot change once it exists (the API refuses the
    # update): a change is a new claim, which the plan shows as replacing a resource that
    # holds data, refused without --allow-data-loss.
    access_mode: str = Param(
        "ReadWriteOnce", forces_replacement=True, description="The claim's access mode."
    )
    storage_class: str | None = Param(
        None, forces_replacement=True, description="The claim's storageClassName."
    )


class VolumeProvisioner(_Computed):
    """``volume``: a PersistentVolumeClaim rendered with the workload."""

    name: ClassVar[str] = "kubernetes-volume"
    resource_type: ClassVar[str] = "volume"
    holds_data: ClassVar[bool] = True
    params_model = VolumeParams
    output_fields: ClassVar[dict[str, Output]] = {
        "source": Output("The claim's name, for Score's volumes.source."),
        "path": Output("The same name."),
        "claim": Output("The PersistentVolumeClaim's name."),
        "size": Output("The storage request."),
        "access_mode": Output("The access mode."),
        "storage_class": Output("The storage class; empty for the cluster's default."),
    }

    def compute(self, ctx: ResourceContext) -> Outputs:
        claim = dns_label(ctx.physical_name)
        out: dict[str, Any] = {
            "source": claim,
            "path": claim,
            "claim": claim,
            "size": str(ctx.params.get("size") or "1Gi"),
            "access_mode": str(ctx.params.get("access_mode") or "ReadWriteOnce"),
            "storage_class": str(ctx.params.get("storage_class") or ""),
        }
        return out


class ServiceParams(_Params):
    outputs: dict[str, Any] = Param(
        {},
        platform_only=True,
        description="The service's connection outputs (host, port, name, username...).",
    )
    secret_outputs: dict[str, str] = Param(
        {},
        platform_only=True,
        description="Secret outputs: output name -> key in the platform's secret store.",
    )


class ServiceProvisioner(_Computed):
    """A service the platform already runs (a managed database, an operator's cluster).

    The rule's params give the connection outputs and name the platform secrets
    that hold its credentials (``podium secrets set KEY``).
    """

    name: ClassVar[str]
    resource_type: ClassVar[str]
    params_model = ServiceParams

    def compute(self, ctx: ResourceContext) -> Outputs:
        given = ctx.params.get("outputs") or {}
        wanted = ctx.params.get("secret_outputs") or {}
        if not given and not wanted:
            raise ResourceError(
                f"{ctx.uid}: {self.name} needs the rule's params.outputs (host, port...)",
                hint="set them in the [[rules]] entry of podium.toml",
            )
        result: dict[str, Any] = dict(given)
        for output, key in wanted.items():
            result[str(output)] = _platform_secret(ctx, str(key))
        return result


def _platform_secret(ctx: ResourceContext, key: str) -> Secret:
    own = ctx.env.secret_store is None
    store = LocalSecretStore.in_state_dir(ctx.env.state_dir.parent) if own else ctx.env.secret_store
    view = EnvironmentSecrets(store, ctx.env.environment) if own else store
    try:
        return view.get(key)
    except NotFoundError:
        raise ResourceError(
            f"{ctx.uid}: secret {key!r} is not set", hint=f"set it with: podium secrets set {key}"
        ) from None
    finally:
        if own:
            store.close()


class PostgresService(ServiceProvisioner):
    name: ClassVar[str] = "kubernetes-postgres"
    resource_type: ClassVar[str] = "postgres"


class RedisService(ServiceProvisioner):
    name: ClassVar[str] = "kubernetes-redis"
    resource_type: ClassVar[str] = "redis"


def provisioners() -> list[Provisioner]:
    return [RouteProvisioner(), VolumeProvisioner(), PostgresService(), RedisService()]

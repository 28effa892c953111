"""The provisioners whose resources the rendered objects carry pass the provisioner kit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from podium.plugin import RenderedContainer, RenderedResource, RenderedWorkload, ServicePort
from podium.testing.conformance import ProvisionerConformance
from podium_kubernetes.provisioners import RouteProvisioner, VolumeProvisioner
from podium_kubernetes.render import Target, render_objects
from podium_kubernetes.settings import EnvironmentOptions

#: What a param update is checked against: nothing runs these resources but the objects
#: rendered from their outputs, so the observer renders them (Ingress rule, claim spec).
TARGET = Target(
    platform="kit", environment="dev", release=1, owner=None, options=EnvironmentOptions()
)


def rendered(kind: str, resource_type: str, outputs: dict[str, Any]) -> dict[str, Any]:
    """The ``kind`` object rendered for a workload whose one resource has these outputs."""
    workload = RenderedWorkload(
        name="site",
        containers={"web": RenderedContainer(name="web", image="registry.example/web:1")},
        ports={
            "http": ServicePort(port=80, target_port=8080),
            "admin": ServicePort(port=81, target_port=9090),
        },
        resources={
            "it": RenderedResource(
                uid=f"{resource_type}.default#site.it", type=resource_type, outputs=outputs
            )
        },
    )
    return next(o for o in render_objects(workload, TARGET) if o["kind"] == kind)


def ingress_rule(ctx: Any) -> Any:
    outputs = RouteProvisioner().read(ctx)
    assert outputs is not None
    rule = rendered("Ingress", "route", dict(outputs))["spec"]["rules"][0]
    path = rule["http"]["paths"][0]
    return rule["host"], path["path"], path["backend"]["service"]["port"]["number"]


def claim_spec(ctx: Any) -> Any:
    outputs = VolumeProvisioner().read(ctx)
    assert outputs is not None
    return rendered("PersistentVolumeClaim", "volume", dict(outputs))["spec"]


class TestRoute(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> RouteProvisioner:
        return RouteProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"host": "shop.example.com", "path": "/api", "port": "http"}

    @pytest.fixture
    def provoke_error(self) -> Callable[..., Any]:
        def without_host(provisioner: RouteProvisioner, make_context: Callable[..., Any]) -> None:
            provisioner.create(make_context(params={"port": "http"}))

        return without_host

    @pytest.fixture
    def param_updates(self) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        return {
            "host": ("shop.example.com", "store.example.com", ingress_rule),
            "path": ("/api", "/v2", ingress_rule),
            "port": ("http", "admin", ingress_rule),
        }


class TestVolume(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> VolumeProvisioner:
        return VolumeProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"size": "2Gi"}

    @pytest.fixture
    def param_updates(self) -> dict[str, tuple[Any, Any, Callable[[Any], Any]]]:
        # Only the size: a bound claim's access modes and storage class cannot change
        # in place on a cluster (the API server refuses), so they are not offered here.
        return {"size": ("2Gi", "5Gi", claim_spec)}


def test_a_claims_immutable_fields_force_a_new_claim() -> None:
    """Kubernetes refuses to change a bound claim's access modes or class: the plan must
    replace the volume (a data-loss change) instead of sending an update that fails."""
    from podium.plugin import resource_schema

    volume = VolumeProvisioner()
    assert {"access_mode", "storage_class"} <= set(resource_schema(volume).forces_replacement)
    assert volume.holds_data
    base = {"size": "1Gi", "access_mode": "ReadWriteOnce", "storage_class": None}
    assert volume.requires_replace(base, {**base, "access_mode": "ReadWriteMany"})
    assert volume.requires_replace(base, {**base, "storage_class": "fast"})
    assert not volume.requires_replace(base, {**base, "size": "2Gi"})  # claims can grow

"""The provisioners whose resources the rendered objects carry pass the provisioner kit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from podium.testing.conformance import ProvisionerConformance
from podium_kubernetes.provisioners import RouteProvisioner, VolumeProvisioner


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


class TestVolume(ProvisionerConformance):
    @pytest.fixture
    def provisioner(self) -> VolumeProvisioner:
        return VolumeProvisioner()

    @pytest.fixture
    def resource_params(self) -> dict[str, Any]:
        return {"size": "2Gi"}

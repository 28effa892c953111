"""podium-podman through the core's deployer conformance kit, in real containers.

The kit's fixture program runs with the test image's python3; its directory is
bind-mounted at the same path (as a volume resource would be), so its records are
where the kit reads them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import stop_everything

from podium.plugin import EnvironmentInfo, RenderedVolume
from podium.testing.conformance import DeployerConformance, KitWorkloads
from podium_podman.deployer import PodmanDeployer
from podium_podman.settings import Settings


class MountedKitWorkloads(KitWorkloads):
    """The kit's workloads, with the kit's directory mounted into every container."""

    def container(self, name: str, **kwargs: Any) -> Any:
        rendered = super().container(name, **kwargs)
        directory = str(self.script.parent)
        volume = RenderedVolume(target=directory, source={"source": directory, "path": directory})
        return rendered.model_copy(update={"volumes": [volume]})


class TestPodmanDeployer(DeployerConformance):
    @pytest.fixture
    def deployer(self) -> PodmanDeployer:
        return PodmanDeployer(Settings(readiness_timeout=30, stop_timeout=1))

    @pytest.fixture(autouse=True)
    def _clean(self, podium_env: EnvironmentInfo, test_images: dict[str, str]) -> Iterator[None]:
        yield
        stop_everything(podium_env)

    @pytest.fixture
    def kit_workloads(self, kit_directory: Path, test_images: dict[str, str]) -> KitWorkloads:
        return MountedKitWorkloads(kit_directory, "/usr/bin/python3", image=test_images["base"])

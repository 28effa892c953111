"""podium-podman's registrations: the ``podman`` deployer.

The entry point (``podium.plugins: podman = podium_podman.plugin``) imports nothing
heavy: the deployer and the ``docker`` SDK load when a deployer call needs them.
"""

from __future__ import annotations

from typing import Any

from podium.plugin import hookimpl
from podium_podman.settings import Settings

PODIUM_API = ">=1.2,<2"

__all__ = ["PODIUM_API", "Settings"]


@hookimpl
def podium_deployers(settings: Settings | None) -> list[Any]:
    from podium_podman.deployer import PodmanDeployer

    return [PodmanDeployer(settings if settings is not None else Settings())]

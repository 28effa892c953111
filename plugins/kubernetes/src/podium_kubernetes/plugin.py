"""The podium-kubernetes plugin module (entry point ``kubernetes`` in group ``podium.plugins``).

Registers the ``kubernetes`` deployer (a :class:`~podium.plugin.Renderer`, so ``podium
render`` works with it) and the provisioners whose resources its objects carry: routes
(Ingress), volumes (PersistentVolumeClaim), and services the platform already runs
(PostgreSQL, Redis).
"""

from __future__ import annotations

from collections.abc import Iterable

from podium.plugin import Deployer, PlatformInfo, Provisioner, hookimpl
from podium_kubernetes.settings import Settings

# Renderer, DeployContext.owner and podium_patch_manifests arrived with plugin API 1.3.
PODIUM_API = ">=1.3,<2"

__all__ = ["PODIUM_API", "Settings", "podium_deployers", "podium_provisioners"]


@hookimpl
def podium_deployers(settings: Settings | None, platform: PlatformInfo) -> Iterable[Deployer]:
    from podium_kubernetes.deployer import KubernetesDeployer

    return [KubernetesDeployer(settings or Settings(), platform)]


@hookimpl
def podium_provisioners() -> Iterable[Provisioner]:
    from podium_kubernetes.provisioners import provisioners

    return provisioners()

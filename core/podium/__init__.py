"""Podium: assemble an internal developer platform from plugins.

Importing ``podium`` is cheap: the names below (``hookimpl`` too) load on first use, so a CLI or a
portal that imports Podium pays for pydantic, OpenTelemetry or a plugin only
when it uses them.

    from podium import Platform
    platform = Platform.from_file("podium.toml")
    plan = platform.plan("dev", ["score.yaml"])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from podium.version import API_VERSION, __version__

if TYPE_CHECKING:
    from podium.api import Platform
    from podium.deployment.contract import Deployer, RenderedWorkload
    from podium.errors import PodiumError
    from podium.plugins.markers import hookimpl, hookspec
    from podium.provisioning.contract import Provisioner, ResourceContext
    from podium.security.contract import Finding, PolicyPack, SecretStore
    from podium.security.secret import Secret

_LAZY = {
    "Platform": "podium.api",
    "PodiumError": "podium.errors",
    "Secret": "podium.security.secret",
    "Provisioner": "podium.provisioning.contract",
    "ResourceContext": "podium.provisioning.contract",
    "Deployer": "podium.deployment.contract",
    "RenderedWorkload": "podium.deployment.contract",
    "SecretStore": "podium.security.contract",
    "PolicyPack": "podium.security.contract",
    "Finding": "podium.security.contract",
    # pluggy is ~15 ms of `podium --version`; every plugin module reads these first anyway
    "hookimpl": "podium.plugins.markers",
    "hookspec": "podium.plugins.markers",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'podium' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "API_VERSION",
    "Deployer",
    "Finding",
    "Platform",
    "PodiumError",
    "PolicyPack",
    "Provisioner",
    "RenderedWorkload",
    "ResourceContext",
    "Secret",
    "SecretStore",
    "__version__",
    "hookimpl",
    "hookspec",
]

"""The podium-opa plugin module (entry point ``opa`` in group ``podium.plugins``).

Registering reads the ``.rego`` files (cheap); regopy is imported and the modules
compiled only when a workload or plan is first checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from podium.plugin import CliCommand, PlatformInfo, PolicyPack, hookimpl
from podium_opa.settings import Settings

PODIUM_API = ">=1.2,<2"

__all__ = ["PODIUM_API", "Settings", "podium_cli_commands", "podium_policy_packs"]


@hookimpl
def podium_policy_packs(settings: Settings | None, platform: PlatformInfo) -> Iterable[PolicyPack]:
    from podium_opa.modules import discover, library
    from podium_opa.pack import OpaPolicies

    settings = settings or Settings()
    modules = library(settings.library)
    for directory in settings.policy_dirs:
        modules += discover(platform.resolve(directory))
    data = {**settings.data, "allowed_registries": list(settings.allowed_registries)}
    return [OpaPolicies(modules, data)]


@hookimpl
def podium_cli_commands() -> Iterable[CliCommand]:
    from podium_opa.cli import policy

    return [CliCommand(name="policy", command=policy, help="Test Rego policies.")]

"""The kinds of things plugins register, and the registration hook for each."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str  #: plural key used by ``PluginManager.registrations``
    hook: str  #: the registration hook
    base: str  #: ``module:Class`` every registered object must be an instance of
    label: str  #: singular, for messages

    def base_class(self) -> type[Any]:
        module, _, attr = self.base.partition(":")
        cls: type[Any] = getattr(importlib.import_module(module), attr)
        return cls


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "provisioners",
            "podium_provisioners",
            "podium.provisioning.contract:Provisioner",
            "provisioner",
        ),
        Kind("deployers", "podium_deployers", "podium.deployment.contract:Deployer", "deployer"),
        Kind(
            "secret_stores",
            "podium_secret_stores",
            "podium.security.contract:SecretStore",
            "secret store",
        ),
        Kind(
            "policy_packs",
            "podium_policy_packs",
            "podium.security.contract:PolicyPack",
            "policy pack",
        ),
        Kind(
            "telemetry_sinks",
            "podium_telemetry_sinks",
            "podium.observability.contract:TelemetrySink",
            "telemetry sink",
        ),
        Kind(
            "state_backends",
            "podium_state_backends",
            "podium.platform.contract:StateBackend",
            "state backend",
        ),
        Kind(
            "cli_commands", "podium_cli_commands", "podium.platform.contract:CliCommand", "command"
        ),
    )
}

REGISTRATION_HOOKS = frozenset(kind.hook for kind in KINDS.values())

HOOKSPEC_MODULES = (
    "podium.provisioning.hookspecs",
    "podium.deployment.hookspecs",
    "podium.observability.hookspecs",
    "podium.security.hookspecs",
    "podium.platform.hookspecs",
)

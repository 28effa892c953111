"""The kinds of things plugins register: typed keys for the registry, and each one's hook.

Look registrations up with a typed key and get a precise type back, no cast::

    from podium.plugins.kinds import PROVISIONERS

    registered = platform.plugins.registered(PROVISIONERS, "local-postgres")
    registered.obj  # a Provisioner, to a type checker too

The plural name (``"provisioners"``) still works wherever a key does; it is the
same name ``podium plugins list --json`` shows, and gives ``Registered[Any]``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from podium.deployment.contract import Deployer
    from podium.observability.contract import TelemetrySink
    from podium.platform.contract import CliCommand, StateBackend, WorkloadTemplate
    from podium.provisioning.contract import Provisioner
    from podium.security.contract import KeyProvider, PolicyPack, SecretStore

T = TypeVar("T")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """One kind of registration; ``T`` is the class every registered object is an instance of."""

    name: str  #: plural key used by ``PluginManager.registrations``
    hook: str  #: the registration hook
    base: str  #: ``module:Class`` every registered object must be an instance of
    label: str  #: singular, for messages

    def base_class(self) -> type[T]:
        module, _, attr = self.base.partition(":")
        cls: type[T] = getattr(importlib.import_module(module), attr)
        return cls


PROVISIONERS: Kind[Provisioner] = Kind(
    "provisioners", "podium_provisioners", "podium.provisioning.contract:Provisioner", "provisioner"
)
DEPLOYERS: Kind[Deployer] = Kind(
    "deployers", "podium_deployers", "podium.deployment.contract:Deployer", "deployer"
)
SECRET_STORES: Kind[SecretStore] = Kind(
    "secret_stores", "podium_secret_stores", "podium.security.contract:SecretStore", "secret store"
)
POLICY_PACKS: Kind[PolicyPack] = Kind(
    "policy_packs", "podium_policy_packs", "podium.security.contract:PolicyPack", "policy pack"
)
KEY_PROVIDERS: Kind[KeyProvider] = Kind(
    "key_providers", "podium_key_providers", "podium.security.contract:KeyProvider", "key provider"
)
TELEMETRY_SINKS: Kind[TelemetrySink] = Kind(
    "telemetry_sinks",
    "podium_telemetry_sinks",
    "podium.observability.contract:TelemetrySink",
    "telemetry sink",
)
STATE_BACKENDS: Kind[StateBackend] = Kind(
    "state_backends",
    "podium_state_backends",
    "podium.platform.contract:StateBackend",
    "state backend",
)
CLI_COMMANDS: Kind[CliCommand] = Kind(
    "cli_commands", "podium_cli_commands", "podium.platform.contract:CliCommand", "command"
)
WORKLOAD_TEMPLATES: Kind[WorkloadTemplate] = Kind(
    "workload_templates",
    "podium_workload_templates",
    "podium.platform.contract:WorkloadTemplate",
    "workload template",
)

KINDS: dict[str, Kind[Any]] = {
    kind.name: kind
    for kind in (
        PROVISIONERS,
        DEPLOYERS,
        SECRET_STORES,
        POLICY_PACKS,
        TELEMETRY_SINKS,
        STATE_BACKENDS,
        CLI_COMMANDS,
        WORKLOAD_TEMPLATES,
        KEY_PROVIDERS,
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

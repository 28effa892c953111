"""The core's own registrations, loaded as the plugin ``builtin`` of distribution ``podium``.

They are what a platform has with no plugin installed: SQLite state, the
encrypted local secret store and the built-in policy pack.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from podium.platform.contract import StateBackend
from podium.plugins.markers import hookimpl
from podium.security.contract import PolicyPack, SecretStore

if TYPE_CHECKING:
    from podium.security.key_check import KeyLoader


class BuiltinPlugin:
    """Bound to one platform, because the local secret store lives in its state directory."""

    def __init__(self, state_root: Path, load_key: KeyLoader) -> None:
        self.state_root = state_root
        self.load_key = load_key

    @hookimpl
    def podium_state_backends(self) -> list[StateBackend]:
        from podium.state.sqlite import SqliteStateBackend

        return [SqliteStateBackend()]

    @hookimpl
    def podium_secret_stores(self) -> list[SecretStore]:
        from podium.security.local_store import SECRETS_FILE_NAME, LocalSecretStore

        return [LocalSecretStore(self.state_root / SECRETS_FILE_NAME, load_key=self.load_key)]

    @hookimpl
    def podium_policy_packs(self) -> list[PolicyPack]:
        from podium.security.policies import BuiltinPolicies

        return [BuiltinPolicies()]

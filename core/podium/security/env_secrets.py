"""The platform's secrets as one environment sees them.

The rule (documented in the platform guide): a secret set for an environment
(``podium secrets set -e ENV KEY``) overrides the platform-wide secret of the same
key (``podium secrets set KEY``, and every secret stored before environments
existed) in that environment only; other environments keep seeing the
platform-wide value.
"""

from __future__ import annotations

import builtins
import warnings
from typing import ClassVar

from podium.errors import NotFoundError
from podium.plugins.deprecations import PodiumDeprecationWarning
from podium.security.contract import SecretStore, SecretVersion
from podium.security.secret import Secret

#: Says when a 0.1 secret store stops being accepted.
LEGACY_STORE_REMOVAL = "plugin API 2.0"


class EnvironmentSecrets(SecretStore):
    """A :class:`SecretStore` view of ``store`` for environment ``env``.

    Reads fall back from the environment's value to the platform-wide one; writes
    and deletes go to the environment's scope. Provisioners receive this view as
    ``ctx.env.secret_store``, so a ``secret`` resource resolves the right value.
    """

    name: ClassVar[str] = "environment-view"
    scoped: ClassVar[bool] = True

    def __init__(self, store: SecretStore, env: str) -> None:
        self.store = store
        self.environment = env
        if not store.scoped:
            warnings.warn(
                f"secret store {store.name!r} implements the 0.1 SecretStore contract "
                "(no environments, no versions); it keeps working with platform-wide "
                f"secrets, and support for it ends in {LEGACY_STORE_REMOVAL}",
                PodiumDeprecationWarning,
                stacklevel=2,
            )

    def resolve(self, key: str) -> SecretVersion | None:
        """Which stored entry ``key`` means in this environment, or ``None`` if unset."""
        if self.store.scoped:
            found = self.store.version_of(key, self.environment)
            if found is not None:
                return found
        return self.store.version_of(key, None)

    def get(self, key: str) -> Secret:
        if self.store.scoped:
            try:
                return self.store.get_in(key, self.environment)
            except NotFoundError:
                pass
        return self.store.get_in(key, None)

    def put(self, key: str, value: Secret) -> None:
        self.store.put_in(key, value, self.environment)

    def delete(self, key: str) -> None:
        self.store.delete_in(key, self.environment)

    def list(self) -> list[str]:
        keys = {entry.key for entry in self.store.versions(None)}
        if self.store.scoped:
            keys |= {entry.key for entry in self.store.versions(self.environment)}
        return sorted(keys)

    def get_in(self, key: str, env: str | None) -> Secret:
        return self.store.get_in(key, env)

    def put_in(self, key: str, value: Secret, env: str | None) -> int:
        return self.store.put_in(key, value, env)

    def delete_in(self, key: str, env: str | None) -> None:
        self.store.delete_in(key, env)

    def versions(self, env: str | None) -> builtins.list[SecretVersion]:
        return self.store.versions(env)

    def close(self) -> None:
        """The underlying store belongs to the platform: closing the view leaves it open."""

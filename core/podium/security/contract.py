"""What secret stores and policy packs are: the interfaces behind the security hooks."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from podium.platform.context import EnvironmentInfo
from podium.security.secret import Secret

if TYPE_CHECKING:
    from podium.engine.plan import Plan
    from podium.workload.model import Workload

Level = Literal["advisory", "mandatory"]


@dataclass(frozen=True)
class SecretVersion:
    """One stored secret without its value: its key, scope and version.

    ``environment`` is ``None`` for a platform-wide secret. ``version`` starts at 1
    and grows by one with every ``set`` of that key in that scope (never reused, not
    even after a delete); 0 means the store does not number versions (API 0.1).
    """

    key: str
    version: int
    environment: str | None = None
    #: The store's own id of the current value, where it has one (Secrets Manager's
    #: VersionId); compared by plans with ``version``, so a rotation is never missed
    #: when a store's numbers restart (after a delete, say).
    revision: str = ""

    @property
    def scope(self) -> str:
        return self.environment or "platform"


class SecretStore(ABC):
    """Keeps secret values by key. ``[secrets] store = NAME`` selects one per platform.

    ``get`` of a missing key raises :class:`~podium.errors.NotFoundError`;
    ``delete`` of a missing key succeeds. ``get``/``put``/``delete``/``list`` work on
    platform-wide secrets (the 0.1 contract).

    A store that also keeps values per environment and numbers versions sets
    ``scoped = True`` and overrides :meth:`get_in`, :meth:`put_in`, :meth:`delete_in`
    and :meth:`versions`. The defaults adapt a 0.1 store: platform-wide only, version 0
    (the engine then notices a rotation by the value's keyed fingerprint instead).
    0.1 stores are deprecated; plugin API 2.0 will require the scoped methods.
    """

    name: ClassVar[str]
    #: Whether the store keeps per-environment values and numbers versions.
    scoped: ClassVar[bool] = False

    @abstractmethod
    def get(self, key: str) -> Secret: ...

    @abstractmethod
    def put(self, key: str, value: Secret) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def list(self) -> list[str]:
        """Keys held, sorted. Stores that cannot list return an empty list."""
        return []

    # --- per environment and versions (``scoped`` stores override these) ------
    def get_in(self, key: str, env: str | None) -> Secret:
        """The value stored for ``key`` in exactly this scope (``None``: platform-wide)."""
        return self.get(self._platform_only(env, key))

    def put_in(self, key: str, value: Secret, env: str | None) -> int:
        """Store a new version of ``key`` in this scope; returns its version number."""
        self.put(self._platform_only(env, key), value)
        return 0

    def delete_in(self, key: str, env: str | None) -> None:
        self.delete(self._platform_only(env, key))

    def versions(self, env: str | None) -> builtins.list[SecretVersion]:
        """The secrets stored in exactly this scope, sorted by key (never values)."""
        self._platform_only(env)
        return [SecretVersion(key, 0) for key in self.list()]

    def version_of(self, key: str, env: str | None) -> SecretVersion | None:
        """``key``'s entry in exactly this scope, or ``None`` when it is not stored there."""
        for entry in self.versions(env):
            if entry.key == key:
                return entry
        return None

    def _platform_only(self, env: str | None, key: str = "") -> str:
        if env is not None:
            from podium.errors import InputError

            raise InputError(
                f"secret store {self.name!r} keeps platform-wide secrets only "
                "(SecretStore API 0.1: no environments, no versions)",
                hint="leave out -e to set a platform-wide secret, or use a store that "
                "supports environments (the built-in 'local' store does)",
            )
        return key


@dataclass(frozen=True)
class Finding:
    """One policy result. ``level`` is the policy's default; platform config may override it."""

    policy: str
    message: str
    level: Level = "advisory"
    subject: str | None = None  #: the workload, container or node uid the finding is about
    location: str | None = None  #: ``file:line`` when known

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "message": self.message,
            "subject": self.subject,
            "location": self.location,
        }


class PolicyPack(ABC):
    """A named set of checks on workloads and plans.

    Finding policy names are ``<pack>.<check>``; ``[policies]`` in ``podium.toml``
    sets each one's level (``advisory``, ``mandatory`` or ``off``).
    """

    name: ClassVar[str]
    #: The check names this pack reports (``no-root`` for ``<pack>.no-root``). When given,
    #: a ``[policies]`` key ``<pack>.<other>`` is a config error (a typo would weaken a
    #: guardrail silently); empty means the pack does not say, and any key is accepted.
    checks: ClassVar[tuple[str, ...]] = ()

    def check_workload(self, workload: Workload, env: EnvironmentInfo) -> Iterable[Finding]:
        return ()

    def check_plan(self, plan: Plan, env: EnvironmentInfo) -> Iterable[Finding]:
        return ()


class KeyProvider(ABC):
    """Keeps the key that wraps the state's data key (envelope encryption; plugin API 1.3).

    ``[secrets] key_provider = "<name>"`` and ``wrapping_key = "<key>"`` select it.
    Podium generates the data key itself (a Fernet key), keeps only its wrapped
    form on disk, and asks the provider to unwrap it when the state key is first
    needed; the plain data key stays in memory. A provider that cannot unwrap
    (the service is down, the key was deleted, no permission) must raise: Podium
    then refuses to read or write sealed state, naming the provider and its plugin.
    Errors must not quote the data key or the wrapped text.
    """

    name: ClassVar[str]

    @abstractmethod
    def wrap(self, wrapping_key: str, data_key: bytes) -> str:
        """``data_key`` encrypted with ``wrapping_key``, as text safe to store in a file."""

    @abstractmethod
    def unwrap(self, wrapping_key: str, wrapped: str) -> bytes:
        """The data key that :meth:`wrap` turned into ``wrapped``."""

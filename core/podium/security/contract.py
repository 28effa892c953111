"""What secret stores and policy packs are: the interfaces behind the security hooks."""

from __future__ import annotations

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


class SecretStore(ABC):
    """Keeps secret values by key. ``[secrets] store = NAME`` selects one per platform.

    ``get`` of a missing key raises :class:`~podium.errors.NotFoundError`;
    ``delete`` of a missing key succeeds.
    """

    name: ClassVar[str]

    @abstractmethod
    def get(self, key: str) -> Secret: ...

    @abstractmethod
    def put(self, key: str, value: Secret) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def list(self) -> list[str]:
        """Keys held, sorted. Stores that cannot list return an empty list."""
        return []


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

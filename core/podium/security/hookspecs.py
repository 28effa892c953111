"""Security hooks: secret stores, key providers, policy packs, and ad-hoc workload and plan checks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel

from podium.platform.context import EnvironmentInfo, PlatformInfo
from podium.plugins.markers import hookspec
from podium.security.contract import Finding, KeyProvider, PolicyPack, SecretStore

if TYPE_CHECKING:
    from podium.engine.plan import Plan
    from podium.workload.model import Workload


@hookspec
def podium_secret_stores(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[SecretStore]:
    """Register secret stores (registration hook).

    ``[secrets] store = "<name>"`` selects the store behind ``podium secrets`` and
    the ``secret`` resource type.

    Example::

        class EnvSecretStore(SecretStore):
            name = "env"

            def get(self, key):
                try:
                    return Secret(os.environ["SECRET_" + key.upper()])
                except KeyError:
                    raise NotFoundError(f"no secret {key!r}") from None

            def put(self, key, value):
                raise ResourceError("the env store is read-only")

            def delete(self, key):
                raise ResourceError("the env store is read-only")

        @hookimpl
        def podium_secret_stores():
            return [EnvSecretStore()]
    """


@hookspec
def podium_key_providers(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[KeyProvider]:
    """Register key providers (registration hook; plugin API 1.3).

    ``[secrets] key_provider = "<name>"`` and ``wrapping_key = "<key>"`` make the
    provider wrap the state's data key (envelope encryption) instead of keeping the
    key in a file: only the wrapped data key is stored (``<state_dir>/key.wrapped``),
    and Podium refuses to read or write sealed state when the provider cannot unwrap it.

    Example::

        class KmsKeys(KeyProvider):
            name = "acme-kms"

            def wrap(self, wrapping_key, data_key):
                return kms.encrypt(wrapping_key, data_key).hex()

            def unwrap(self, wrapping_key, wrapped):
                return kms.decrypt(wrapping_key, bytes.fromhex(wrapped))

        @hookimpl
        def podium_key_providers():
            return [KmsKeys()]
    """


@hookspec
def podium_policy_packs(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[PolicyPack]:
    """Register policy packs (registration hook).

    Each finding's policy is ``<pack>.<check>``; ``[policies]`` sets its level. A pack that
    lists its ``checks`` gets a misspelt ``[policies]`` key refused at validate.

    Example::

        class ReplicaPolicy(PolicyPack):
            name = "acme"
            checks = ("team-annotation",)

            def check_workload(self, workload, env):
                if "team" not in workload.annotations:
                    yield Finding("acme.team-annotation", "add metadata.annotations.team",
                                  level="mandatory", subject=workload.name)

        @hookimpl
        def podium_policy_packs():
            return [ReplicaPolicy()]
    """


@hookspec
def podium_validate_workload(workload: Workload, env: EnvironmentInfo) -> Iterable[Finding] | None:
    """Check one workload before planning (broadcast hook); return findings or ``None``.

    Example::

        @hookimpl
        def podium_validate_workload(workload, env):
            if len(workload.containers) > 5:
                return [Finding("acme.small-workloads", "at most 5 containers",
                                subject=workload.name)]
            return None
    """


@hookspec
def podium_check_plan(plan: Plan, env: EnvironmentInfo) -> Iterable[Finding] | None:
    """Check a whole plan before it is applied (broadcast hook); return findings or ``None``.

    Example::

        @hookimpl
        def podium_check_plan(plan, env):
            deletes = [c for c in plan.changes if c.action == "delete"]
            if env.environment == "prod" and deletes:
                return [Finding("acme.no-prod-deletes", f"{len(deletes)} deletes in prod",
                                level="mandatory")]
            return None
    """

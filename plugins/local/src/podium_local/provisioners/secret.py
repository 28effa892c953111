"""``secret``: a value from the platform's secret store (``podium secrets set KEY``).

The store is the one the platform selects (``ctx.env.secret_store``). Without
one (a provisioner used outside a platform), the core's encrypted local store is
opened one level above the env state directory, or where the environment's
settings (``podium.platform_state_dir``) or the ``secret_store_dir`` param say.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from podium.plugin import (
    NotFoundError,
    Output,
    Outputs,
    Param,
    Provisioner,
    ResourceContext,
    ResourceError,
)
from podium_local.provisioners.basic import LocalParams, Reference


def platform_state_dir(ctx: ResourceContext) -> Path:
    explicit = ctx.params.get("secret_store_dir") or ctx.env.settings.get(
        "podium.platform_state_dir"
    )
    return Path(str(explicit)) if explicit else ctx.env.state_dir.parent


class SecretParams(LocalParams):
    key: str = Param(description="The secret's key in the platform's store.")
    # Platform-only: a workload naming another directory would read (or plant)
    # secrets in a store that is not its environment's.
    secret_store_dir: str | None = Param(
        None,
        platform_only=True,
        description="Where the local store is when the platform has none "
        "(default: the platform's state directory).",
    )


class SecretProvisioner(Provisioner):
    name: ClassVar[str] = "local-secret"
    resource_type: ClassVar[str] = "secret"
    params_model = SecretParams
    output_fields: ClassVar[dict[str, Output]] = {
        "value": Output("The secret's value.", sensitive=True),
    }

    def _get(self, ctx: ResourceContext) -> Outputs:
        from podium.plugin import EnvironmentSecrets, LocalSecretStore

        key = ctx.params.get("key")
        if not key:
            raise ResourceError(f"{ctx.uid}: the secret resource needs params.key")
        # Prefer the platform's own store ([secrets] store, its key file); fall back
        # to the local store in the platform's state directory.
        own = ctx.env.secret_store is None
        store = (
            LocalSecretStore.in_state_dir(platform_state_dir(ctx)) if own else ctx.env.secret_store
        )
        # The environment's own value first, then the platform-wide one (the platform's
        # store comes as that view already).
        view = EnvironmentSecrets(store, ctx.env.environment) if own else store
        try:
            return {"value": view.get(str(key))}
        except NotFoundError:
            raise ResourceError(
                f"{ctx.uid}: secret {key!r} is not set",
                hint=f"set it with: podium secrets set {key}",
            ) from None
        finally:
            if own:
                store.close()

    def create(self, ctx: ResourceContext) -> Outputs:
        outputs = self._get(ctx)
        Reference(ctx).mark()
        return outputs

    def read(self, ctx: ResourceContext) -> Outputs | None:
        if not Reference(ctx).exists():
            return None
        try:
            return self._get(ctx)
        except ResourceError:
            return None

    def delete(self, ctx: ResourceContext) -> None:
        # The secret belongs to the user: deleting the resource leaves it in the store.
        Reference(ctx).clear()

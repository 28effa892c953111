"""``openbao-secret``: a ``secret`` resource whose value lives in OpenBao (KV v2).

The value is a *live* output: Podium never stores it, not even sealed. State keeps
a keyed fingerprint of it and releases a reference, and the engine calls ``read``
for it again at each deploy and rollback (a rollback gets the current value).
OpenBao stays the source; ``podium plan --refresh`` notices a value changed there
(the fingerprint differs) and redeploys the workloads that use it. On its way to the
deployer the value is a :class:`~podium.Secret`: redacted in plans, logs and
``outputs``.

Two ways to name it:

* ``key``: the platform secret set with ``podium secrets set [-e ENV] KEY`` when
  the platform's ``[secrets] store`` is ``openbao`` (the environment's own value wins);
* ``path`` (and ``field``): any KV v2 path under ``[plugins.openbao] mount``. Only a
  platform rule may set it: a workload naming paths could read any secret Podium's
  token can.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from podium.plugin import (
    Output,
    Outputs,
    Param,
    Provisioner,
    ResourceContext,
    ResourceError,
)
from podium_openbao.client import OpenBao
from podium_openbao.kv import Kv, field_of
from podium_openbao.store import OpenBaoSecretStore


class SecretParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str | None = Param(None, description="The platform secret's key (podium secrets set KEY).")
    path: str | None = Param(
        None,
        platform_only=True,
        description="A KV v2 path under the plugin's mount (rules only: it grants access).",
    )
    field: str = Param("value", description="The field of the KV secret at path to use.")


class OpenBaoSecretProvisioner(Provisioner):
    name: ClassVar[str] = "openbao-secret"
    resource_type: ClassVar[str] = "secret"
    params_model = SecretParams
    output_fields: ClassVar[dict[str, Output]] = {
        "value": Output("The secret's value (read from OpenBao at each deploy).", live=True),
        "version": Output("Its KV version in OpenBao.", type=int),
    }

    def __init__(self, bao: OpenBao) -> None:
        self._bao = bao

    def _resolve(self, ctx: ResourceContext) -> Outputs:
        key, path = ctx.params.get("key"), ctx.params.get("path")
        if bool(key) == bool(path):
            raise ResourceError(f"{ctx.uid}: an openbao-secret needs exactly one of key and path")
        if path:
            kv = Kv(self._bao, self._bao.settings.mount)
            where = f"{kv.mount}/{path}"
            stored = kv.read(str(path))
            if stored is None:
                raise ResourceError(f"{ctx.uid}: OpenBao has no secret at {where}")
            value = field_of(stored, str(ctx.params.get("field") or "value"), where)
            return {"value": value, "version": stored.version}
        store = OpenBaoSecretStore(self._bao, ctx.env.platform)
        found = store.resolve_value(str(key), ctx.env.environment)
        if found is None:
            raise ResourceError(
                f"{ctx.uid}: secret {key!r} is not set in OpenBao",
                hint=f"set it with: podium secrets set {key}",
            )
        value, version = found
        return {"value": value, "version": version}

    def create(self, ctx: ResourceContext) -> Outputs:
        return self._resolve(ctx)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        try:
            return self._resolve(ctx)
        except ResourceError:
            return None  # gone from OpenBao: the plan says so

    def delete(self, ctx: ResourceContext) -> None:
        # The secret belongs to whoever wrote it in OpenBao: nothing to delete.
        return None

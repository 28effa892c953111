"""A third-party plugin that declares a resource schema: object stores kept as directories.

Written as an author outside this repository would, from the docs: the params are a
pydantic model, the outputs ``Output`` declarations. The tests install it for real
(a site directory with its entry point) and also register it in-process.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, field_validator

from podium import hookimpl
from podium.provisioning import Output, Param, Provisioner, ResourceContext

PODIUM_API = ">=1.0,<2"


class StoreParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quota_mb: int = Param(100, description="How much the store may hold, in MiB.")
    tier: str = Param("standard", forces_replacement=True, description="Storage tier.")
    label: str | None = Param(None, description="A label; 'explode' breaks the validator.")

    @field_validator("label")
    @classmethod
    def _no_explosions(cls, value: str | None) -> str | None:
        if value == "explode":
            raise RuntimeError("the label validator itself is broken")
        return value


class StoreProvisioner(Provisioner):
    name: ClassVar[str] = "objstore"
    resource_type: ClassVar[str] = "objstore"
    params_model = StoreParams
    output_fields: ClassVar[dict[str, Output]] = {
        "bucket": Output("The store's name."),
        "endpoint": Output("Where it is."),
        "access_key": Output("Who to say you are.", sensitive=True),
        "secret_key": Output("How to prove it.", sensitive=True),
    }

    def _path(self, ctx: ResourceContext) -> Path:
        return Path(ctx.env.state_dir) / "objstore" / ctx.physical_name

    def _outputs(self, ctx: ResourceContext) -> dict[str, Any]:
        return {
            "bucket": ctx.physical_name,
            "endpoint": self._path(ctx).as_uri(),
            # A plain str on purpose: the schema's sensitive flag makes the core wrap it.
            "access_key": "AK-" + ctx.physical_name,
            "secret_key": ctx.generate_secret("secret_key"),
        }

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        path = self._path(ctx)
        path.mkdir(parents=True, exist_ok=True)
        (path / "params.json").write_text(json.dumps(dict(ctx.params), sort_keys=True))
        return self._outputs(ctx)

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return self._outputs(ctx) if self._path(ctx).is_dir() else None

    def delete(self, ctx: ResourceContext) -> None:
        shutil.rmtree(self._path(ctx), ignore_errors=True)


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [StoreProvisioner()]

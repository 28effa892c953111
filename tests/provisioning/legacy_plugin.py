"""A plugin written against the 0.1 contract: ``outputs``, ``secret_outputs``, ``replace_on``.

It uses only what the 0.1 docs showed. ``legacy-opaque`` declares no outputs at all,
so placeholders naming its outputs must stay unchecked.
"""

from __future__ import annotations

from typing import Any

from podium import hookimpl
from podium.provisioning import Provisioner, ResourceContext

PODIUM_API = ">=1.0,<2"


class QueueProvisioner(Provisioner):
    name = "legacy-queue"
    resource_type = "queue"
    outputs = ("url", "name")
    secret_outputs = frozenset({"token"})
    replace_on = frozenset({"fifo"})

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        return {"url": f"queue://{ctx.physical_name}", "name": ctx.physical_name, "token": "t"}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return None

    def delete(self, ctx: ResourceContext) -> None:
        return None


class OpaqueProvisioner(Provisioner):
    name = "legacy-opaque"
    resource_type = "opaque"

    def create(self, ctx: ResourceContext) -> dict[str, Any]:
        return {}

    def read(self, ctx: ResourceContext) -> dict[str, Any] | None:
        return None

    def delete(self, ctx: ResourceContext) -> None:
        return None


@hookimpl
def podium_provisioners() -> list[Provisioner]:
    return [QueueProvisioner(), OpaqueProvisioner()]

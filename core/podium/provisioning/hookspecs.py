"""Provisioning hooks: the resource provisioners a plugin offers.

Registration hooks are called once per platform with opt-in arguments: an
implementation may accept any subset of ``settings`` (the plugin's validated
settings model, or ``None`` if it declares none), ``platform`` (a frozen
:class:`~podium.platform.PlatformInfo`: the platform's name, root directory, state
root and config path) and ``platform_name`` (the same as ``platform.name``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from podium.platform.context import PlatformInfo
from podium.plugins.markers import hookspec
from podium.provisioning.contract import Provisioner


@hookspec
def podium_provisioners(  # type: ignore[empty-body]
    settings: BaseModel | None, platform_name: str, platform: PlatformInfo
) -> Iterable[Provisioner]:
    """Register resource provisioners (registration hook; every plugin may implement it).

    Each returned object is a :class:`~podium.provisioning.Provisioner` with a unique
    ``name``; ``[[rules]]`` in ``podium.toml`` map resource requests to these names.

    Example::

        from podium import hookimpl
        from podium.provisioning import Provisioner, ResourceContext

        class DirectoryProvisioner(Provisioner):
            name = "tmp-dir"
            resource_type = "volume"

            def create(self, ctx: ResourceContext) -> dict:
                path = ctx.env.state_dir / "volumes" / ctx.physical_name
                path.mkdir(parents=True, exist_ok=True)
                return {"source": str(path)}

            def read(self, ctx: ResourceContext) -> dict | None:
                path = ctx.env.state_dir / "volumes" / ctx.physical_name
                return {"source": str(path)} if path.is_dir() else None

            def delete(self, ctx: ResourceContext) -> None:
                shutil.rmtree(ctx.env.state_dir / "volumes" / ctx.physical_name, ignore_errors=True)

        @hookimpl
        def podium_provisioners(settings):
            return [DirectoryProvisioner()]
    """

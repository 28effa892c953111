"""``route``: HTTP from ``host`` + ``path`` to a workload's port, through nginx.

Params (Score's conventions): ``host`` (typically ``${resources.dns.host}``),
``path`` (a prefix, default ``/``), ``port`` (the workload's Score port number
or name) and optionally ``workload`` (default: the workload declaring the
route). Outputs ``url``, ``host``, ``port`` (nginx's port), ``path``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from podium.errors import ResourceError
from podium.provisioning.contract import Outputs, Provisioner, ResourceContext
from podium_local.files import file_lock
from podium_local.servers.nginx_proxy import NginxProxy
from podium_local.settings import Settings


class RouteProvisioner(Provisioner):
    name: ClassVar[str] = "local-route"
    resource_type: ClassVar[str] = "route"
    outputs: ClassVar[tuple[str, ...]] = ("url", "host", "port", "path")

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def _route(self, ctx: ResourceContext) -> dict[str, Any]:
        host = ctx.params.get("host")
        port = ctx.params.get("port")
        workload = ctx.params.get("workload") or ctx.workload
        path = str(ctx.params.get("path") or "/")
        if not host or port is None or not workload:
            raise ResourceError(
                f"{ctx.uid}: a route needs params 'host' and 'port' "
                "(and 'workload' when the resource is shared through an id)"
            )
        if not path.startswith("/") or any(c in path for c in " ;{}\"'"):
            raise ResourceError(
                f"{ctx.uid}: route path {path!r} must start with '/' and hold no spaces, quotes, ';' or braces"
            )
        if any(c in str(host) for c in " ;{}\"'/"):
            raise ResourceError(f"{ctx.uid}: route host {host!r} is not a host name")
        return {"host": str(host), "path": path, "port": str(port), "workload": str(workload)}

    @staticmethod
    def _outputs(route: dict[str, Any], port: int) -> Outputs:
        return {
            "url": f"http://{route['host']}:{port}{route['path']}",
            "host": route["host"],
            "port": port,
            "path": route["path"],
        }

    def create(self, ctx: ResourceContext) -> Outputs:
        route = self._route(ctx)
        proxy = NginxProxy(ctx.env, self.settings)
        with file_lock(proxy.lock):
            port = proxy.put_route(ctx.uid, route)
        return self._outputs(route, port)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        proxy = NginxProxy(ctx.env, self.settings)
        stored = proxy.routes().get(ctx.uid)
        port = proxy.port()
        if stored is None or port is None:
            return None
        return self._outputs(stored, port)

    def delete(self, ctx: ResourceContext) -> None:
        proxy = NginxProxy(ctx.env, self.settings)
        with file_lock(proxy.lock):
            proxy.remove_route(ctx.uid)

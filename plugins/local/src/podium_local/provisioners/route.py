"""``route``: HTTP from ``host`` + ``path`` to a workload's port, through nginx.

Params (Score's conventions): ``host`` (typically ``${resources.dns.host}``),
``path`` (a prefix, default ``/``), ``port`` (the workload's Score port number
or name) and optionally ``workload`` (default: the workload declaring the
route). Outputs ``url``, ``host``, ``port`` (nginx's port), ``path``.

Host and path end up inside nginx's configuration, which one nginx per
environment serves for every workload: they are checked strictly here (see
:mod:`podium_local.servers.route_rules`) before anything is written, and a host
belongs to the workload that routed it first.
"""

from __future__ import annotations

from typing import Any, ClassVar

from podium.plugin import Output, Outputs, Param, Provisioner, ResourceContext, ResourceError
from podium_local.files import file_lock
from podium_local.provisioners.basic import LocalParams
from podium_local.servers.nginx_proxy import NginxProxy
from podium_local.servers.route_rules import check_host, check_path, check_workload
from podium_local.settings import Settings


class RouteParams(LocalParams):
    host: str = Param(description="The host name to serve (typically ${resources.dns.host}).")
    path: str | None = Param(None, description="The path prefix to route (default /).")
    port: str = Param(description="The workload's Score port: its number or its name.")
    workload: str | None = Param(
        None, description="The workload to route to (default: the one declaring the route)."
    )


class RouteProvisioner(Provisioner):
    name: ClassVar[str] = "local-route"
    resource_type: ClassVar[str] = "route"
    params_model = RouteParams
    output_fields: ClassVar[dict[str, Output]] = {
        "url": Output("http://host:port/path, through nginx."),
        "host": Output("The routed host."),
        "port": Output("nginx's port.", type=int),
        "path": Output("The routed path prefix."),
    }

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def _route(self, ctx: ResourceContext) -> dict[str, Any]:
        host = ctx.params.get("host")
        port = ctx.params.get("port")
        workload = ctx.params.get("workload") or ctx.workload
        path = ctx.params.get("path") or "/"
        if not host or port is None or not workload:
            raise ResourceError(
                f"{ctx.uid}: a route needs params 'host' and 'port' "
                "(and 'workload' when the resource is shared through an id)"
            )
        port_text = str(port)
        if not port_text.isascii() or not port_text.replace("-", "").replace("_", "").isalnum():
            raise ResourceError(
                f"{ctx.uid}: params.port {port!r} is not a port number or name",
                hint="use the Score port's number (8080) or its name (http)",
            )
        route = {
            "host": check_host(host, f"{ctx.uid}: params.host"),
            "path": check_path(path, f"{ctx.uid}: params.path"),
            "port": port_text,
            "workload": check_workload(workload, f"{ctx.uid}: params.workload"),
        }
        # The claimant is the workload that declared the route (an id-shared route
        # resource has none of its own: then the workload it routes to).
        route["owner"] = str(ctx.workload or route["workload"])
        return route

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

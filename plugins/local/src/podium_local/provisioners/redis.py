"""``redis``: an ACL user of its own on the environment's local redis-server.

The user is named after ``ctx.physical_name``; its password comes from
``ctx.generate_secret`` and is set again on every create, so a retried create
converges. Deleting the last user stops the server and removes its files.
"""

from __future__ import annotations

from typing import ClassVar

from podium.provisioning.contract import Outputs, Provisioner, ResourceContext
from podium_local.network import HOST
from podium_local.servers.redis_server import RedisServer
from podium_local.settings import Settings


class RedisProvisioner(Provisioner):
    name: ClassVar[str] = "local-redis"
    resource_type: ClassVar[str] = "redis"
    secret_outputs: ClassVar[frozenset[str]] = frozenset({"password"})
    outputs: ClassVar[tuple[str, ...]] = ("host", "port", "username", "password")

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def _outputs(self, ctx: ResourceContext, port: int) -> Outputs:
        return {
            "host": HOST,
            "port": port,
            "username": ctx.physical_name,
            "password": ctx.generate_secret("password"),
        }

    def create(self, ctx: ResourceContext) -> Outputs:
        password = ctx.generate_secret("password").reveal()
        server = RedisServer(ctx.env, self.settings)
        with server.locked(), server.admin() as (client, port):
            # "reset" first so the user ends up exactly as described, whatever it was.
            client.execute_command(  # type: ignore[no-untyped-call]
                "ACL",
                "SETUSER",
                ctx.physical_name,
                "reset",
                "on",
                f">{password}",
                "~*",
                "&*",
                "+@all",
            )
            client.execute_command(  # type: ignore[no-untyped-call]
                "ACL", "SAVE"
            )  # survive a server restart
            return self._outputs(ctx, port)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        server = RedisServer(ctx.env, self.settings)
        with server.locked():
            if not server.initialized:
                return None
            with server.admin() as (client, port):
                if ctx.physical_name not in server.users(client):
                    return None
                return self._outputs(ctx, port)

    def delete(self, ctx: ResourceContext) -> None:
        server = RedisServer(ctx.env, self.settings)
        with server.locked():
            if not server.initialized:
                return
            with server.admin() as (client, _port):
                client.execute_command(  # type: ignore[no-untyped-call]
                    "ACL", "DELUSER", ctx.physical_name
                )
                client.execute_command(  # type: ignore[no-untyped-call]
                    "ACL", "SAVE"
                )
                last = not server.users(client)
            if last:
                server.stop_and_remove()

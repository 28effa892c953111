"""``redis``: an ACL user of its own on the environment's local redis-server.

The user is named after ``ctx.physical_name``; its password comes from
``ctx.generate_secret`` and is set again on every create, so a retried create
converges. Deleting the last user stops the server and removes its files.

One redis-server serves every workload of an environment, so each user is
confined: it may touch only keys and channels that start with its own
``key_prefix`` (an output, ``<username>:``) and may not run administrative or
dangerous commands (``ACL``, ``CONFIG``, ``FLUSHALL``, ``KEYS``, ``MONITOR``...),
nor ``SCAN``/``RANDOMKEY``, which would list other users' key names.
"""

from __future__ import annotations

from typing import ClassVar

from podium.plugin import Output, Outputs, Provisioner, ResourceContext
from podium_local.network import HOST
from podium_local.provisioners.basic import LocalParams
from podium_local.servers.redis_server import RedisServer
from podium_local.settings import Settings


def key_prefix(ctx: ResourceContext) -> str:
    """``<username>:``; physical names hold no glob characters (``*?[]\\``)."""
    return f"{ctx.physical_name}:"


def permissions(prefix: str) -> list[str]:
    """ACL rules: own keys and channels only; no admin, dangerous or key-listing commands."""
    return [
        f"~{prefix}*",
        f"&{prefix}*",
        "+@all",
        "-@admin",
        "-@dangerous",
        "-scan",
        "-randomkey",
    ]


class RedisProvisioner(Provisioner):
    name: ClassVar[str] = "local-redis"
    resource_type: ClassVar[str] = "redis"
    holds_data: ClassVar[bool] = True
    params_model = LocalParams  # no params of its own
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The server's address (loopback)."),
        "port": Output("Its port.", type=int),
        "username": Output("The resource's own ACL user."),
        "password": Output("The user's password.", sensitive=True),
        "key_prefix": Output("The only keys and channels the user may touch start with it."),
    }

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def _outputs(self, ctx: ResourceContext, port: int) -> Outputs:
        return {
            "host": HOST,
            "port": port,
            "username": ctx.physical_name,
            "password": ctx.generate_secret("password"),
            "key_prefix": key_prefix(ctx),
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
                *permissions(key_prefix(ctx)),
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

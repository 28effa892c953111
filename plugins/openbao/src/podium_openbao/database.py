"""OpenBao's database secrets engine: a connection, a role, and leases of credentials."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from podium.plugin import NotFoundError, ResourceError, Secret
from podium_openbao.client import OpenBao


@dataclass(frozen=True)
class Credentials:
    username: str
    password: Secret
    lease_id: str
    ttl: int  #: seconds the lease was granted for


class DatabaseEngine:
    """The engine at ``[plugins.openbao] database_mount`` (enabled on first use)."""

    def __init__(self, bao: OpenBao) -> None:
        self._bao = bao
        self.mount = bao.settings.database_mount

    def _enable(self) -> None:
        with self._bao.call("list secrets engines") as client:
            mounts = client.sys.list_mounted_secrets_engines()["data"]
        if f"{self.mount}/" in mounts:
            return
        with self._bao.call(f"enable the database engine at {self.mount}") as client:
            client.sys.enable_secrets_engine("database", path=self.mount)

    def configure_postgres(
        self, connection: str, url: str, username: str, password: Secret, roles: list[str]
    ) -> None:
        """Point ``connection`` at a PostgreSQL database, then rotate its password so
        only OpenBao knows it from here on."""
        self._enable()
        with self._bao.call(f"configure {self.mount}/config/{connection}") as client:
            client.secrets.database.configure(
                name=connection,
                plugin_name="postgresql-database-plugin",
                mount_point=self.mount,
                connection_url=url,
                username=username,
                password=password.reveal(),
                allowed_roles=roles,
                verify_connection=True,
                password_authentication="scram-sha-256",
            )
        with self._bao.call(f"rotate the root credentials of {connection}") as client:
            client.secrets.database.rotate_root_credentials(name=connection, mount_point=self.mount)

    def write_role(
        self,
        role: str,
        connection: str,
        creation: list[str],
        revocation: list[str],
        ttl: str,
        max_ttl: str,
    ) -> None:
        with self._bao.call(f"write {self.mount}/roles/{role}") as client:
            client.secrets.database.create_role(
                name=role,
                db_name=connection,
                creation_statements=creation,
                revocation_statements=revocation,
                default_ttl=ttl,
                max_ttl=max_ttl,
                mount_point=self.mount,
            )

    def issue(self, role: str) -> Credentials:
        with self._bao.call(f"issue credentials of {self.mount}/creds/{role}") as client:
            answer = client.secrets.database.generate_credentials(name=role, mount_point=self.mount)
        data = answer["data"]
        return Credentials(
            username=str(data["username"]),
            password=Secret(str(data["password"])),
            lease_id=str(answer["lease_id"]),
            ttl=int(answer.get("lease_duration") or 0),
        )

    def lease_ttl(self, lease_id: str) -> int | None:
        """Seconds left on a lease; ``None`` once it expired or was revoked."""
        try:
            with self._bao.call("look up a lease") as client:
                answer = client.sys.read_lease(lease_id=lease_id)
        except (NotFoundError, ResourceError):
            return None  # OpenBao answers 400 "invalid lease" for a finished one
        return int((answer.get("data") or {}).get("ttl") or 0)

    def shorten(self, lease_id: str, seconds: int) -> None:
        """Let a replaced lease live ``seconds`` more (a renewal with that increment)."""
        try:
            with self._bao.call("shorten a replaced lease") as client:
                client.sys.renew_lease(lease_id=lease_id, increment=seconds)
        except (NotFoundError, ResourceError):
            return  # already gone

    def revoke_all(self, role: str) -> None:
        """Revoke every lease of ``role`` now (and drop its database users)."""
        with self._bao.call(f"revoke the leases of {self.mount}/creds/{role}") as client:
            client.sys.revoke_prefix(prefix=f"{self.mount}/creds/{role}")

    def remove(self, role: str, connection: str) -> None:
        """Delete the role, then the connection (missing ones are fine)."""
        with suppress(NotFoundError), self._bao.call(f"delete {self.mount}/roles/{role}") as c:
            c.secrets.database.delete_role(name=role, mount_point=self.mount)
        what = f"delete {self.mount}/config/{connection}"
        with suppress(NotFoundError), self._bao.call(what) as c:
            c.secrets.database.delete_connection(name=connection, mount_point=self.mount)

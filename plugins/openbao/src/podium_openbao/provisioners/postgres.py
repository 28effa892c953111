"""``openbao-postgres``: a podium-local database whose workload credentials come from
OpenBao's database secrets engine, short-lived and one set per release.

podium-local creates the database and its owner role as ``local-postgres`` does.
This provisioner then gives OpenBao a management role of that database (allowed to
create roles, never a superuser), whose password OpenBao rotates at once so that
only OpenBao knows it, and an OpenBao role that creates users who are members of
the database's owner role. Each apply of the resource issues new credentials (a
lease of ``lease_ttl``); the outputs carry them, so the workload's redeploy picks
them up. The previous lease is cut to ``rotation_grace`` seconds so the release
being replaced keeps its database until its successor runs. Deleting the resource
revokes every lease (OpenBao drops the users) before the database goes.

Leases and running releases: a lease ends at its TTL, and so does its user (OpenBao
drops it; PostgreSQL's ``VALID UNTIL`` refuses its password too). ``read`` reports a
lease that has ended, was revoked, or has less than half its TTL left as changed
(``drift: lease_id changed``): ``podium apply --refresh`` then issues fresh
credentials and redeploys the workloads that use them. Run it more often than half
the TTL, or pick a TTL at least as long as a release lives.

The credentials of the current lease are kept in OpenBao itself (KV, under the
plugin's prefix), where ``read`` finds them again; like every sensitive output they
reach Podium's state sealed only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from podium.plugin import (
    Output,
    Outputs,
    Param,
    Provisioner,
    ResourceContext,
    Secret,
)
from podium_local.postgres_version import PostgresParams
from podium_local.provisioners.postgres import PostgresProvisioner, identifier
from podium_local.servers.postgres_cluster import PostgresCluster
from podium_local.settings import Settings as LocalSettings
from podium_openbao.client import OpenBao
from podium_openbao.database import Credentials, DatabaseEngine
from podium_openbao.durations import seconds
from podium_openbao.kv import Kv


class DynamicPostgresParams(PostgresParams):
    ttl: str | None = Param(
        None,
        platform_only=True,
        description="Lease TTL of the credentials (default: [plugins.openbao] lease_ttl).",
    )
    max_ttl: str | None = Param(
        None,
        platform_only=True,
        description="Longest life of the credentials (default: lease_max_ttl).",
    )
    rotation_grace: int = Param(
        300,
        platform_only=True,
        description="Seconds a replaced release's credentials keep working after rotation.",
    )


class OpenBaoPostgresProvisioner(Provisioner):
    name: ClassVar[str] = "openbao-postgres"
    resource_type: ClassVar[str] = "postgres"
    holds_data: ClassVar[bool] = True
    params_model = DynamicPostgresParams
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The server's address (loopback)."),
        "port": Output("Its port.", type=int),
        "name": Output("The database's name."),
        "database": Output("The same name (Score's usual key)."),
        "username": Output("This release's user, issued by OpenBao."),
        "password": Output("Its password.", sensitive=True),
        "uri": Output("postgresql://username:password@host:port/name", sensitive=True),
        "lease_id": Output("The OpenBao lease of these credentials."),
    }

    def __init__(self, bao: OpenBao, local: LocalSettings | None = None) -> None:
        self._bao = bao
        self._local_settings = local or LocalSettings()
        self._local = PostgresProvisioner(self._local_settings)
        self._engine = DatabaseEngine(bao)
        self._kv = Kv(bao, bao.settings.mount)

    # --- names -------------------------------------------------------------------
    @staticmethod
    def _role(ctx: ResourceContext) -> str:
        """OpenBao's role and connection name: the database's name."""
        return identifier(ctx.physical_name)

    @staticmethod
    def _manager(ctx: ResourceContext) -> str:
        return identifier(ctx.physical_name)[:52] + "_openbao"

    def _record_path(self, ctx: ResourceContext) -> str:
        s = self._bao.settings
        return f"{s.prefix}/{ctx.env.platform}/leases/{ctx.env.environment}/{self._role(ctx)}"

    # --- lifecycle ---------------------------------------------------------------
    def create(self, ctx: ResourceContext) -> Outputs:
        base = self._local.create(ctx)
        self._configure(ctx, int(base["port"]))
        current = self._current(ctx)
        if current is not None and self._healthy(ctx, current):
            return self._outputs(base, current)  # a retried create: the same lease
        return self._outputs(base, self._issue(ctx, replaced=current))

    def update(self, ctx: ResourceContext, previous: Any) -> Outputs:
        """Every update is a rotation: new credentials for the release it leads to."""
        base = self._local.create(ctx)
        self._configure(ctx, int(base["port"]))
        return self._outputs(base, self._issue(ctx, replaced=self._current(ctx)))

    def read(self, ctx: ResourceContext) -> Outputs | None:
        base = self._local.read(ctx)
        if base is None:
            return None
        current = self._current(ctx)
        if current is None:  # no credentials on record: the plan issues new ones
            gone = {"username": "", "password": Secret(""), "uri": Secret(""), "lease_id": ""}
            return {**base, **gone}
        outputs = self._outputs(base, current)
        if not self._healthy(ctx, current):
            outputs["lease_id"] = ""  # ended or ending: the plan rotates it
        return outputs

    def delete(self, ctx: ResourceContext) -> None:
        role = self._role(ctx)
        self._engine.revoke_all(role)
        self._engine.remove(role, role)
        self._kv.destroy(self._record_path(ctx))
        cluster = PostgresCluster(ctx.env, self._local_settings)
        if cluster.initialized:
            from psycopg import sql

            with cluster.locked(), cluster.admin() as (conn, _port):
                conn.execute(
                    sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self._manager(ctx)))
                )
        self._local.delete(ctx)

    # --- helpers -----------------------------------------------------------------
    def _ttl(self, ctx: ResourceContext) -> str:
        return str(ctx.params.get("ttl") or self._bao.settings.lease_ttl)

    def _configure(self, ctx: ResourceContext, port: int) -> None:
        """The management role, OpenBao's connection to it, and the role issuing users."""
        from psycopg import sql

        name, manager, role = identifier(ctx.physical_name), self._manager(ctx), self._role(ctx)
        password = ctx.generate_secret("openbao_manager_password")
        cluster = PostgresCluster(ctx.env, self._local_settings)
        with cluster.locked(), cluster.admin() as (conn, _port):
            ident = sql.Identifier(manager)
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (manager,))
            verb = "ALTER" if exists.fetchone() else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN CREATEROLE NOSUPERUSER PASSWORD {}").format(
                    ident, sql.Literal(password.reveal())
                )
            )
            # ADMIN OPTION: it may make the users it creates members of the owner role.
            conn.execute(
                sql.SQL("GRANT {} TO {} WITH ADMIN OPTION").format(sql.Identifier(name), ident)
            )
        url = f"postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{port}/{name}"
        self._engine.configure_postgres(role, url, manager, password, [role])
        owner = name.replace('"', "")
        self._engine.write_role(
            role,
            role,
            creation=[
                "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' "
                f"VALID UNTIL '{{{{expiration}}}}' IN ROLE \"{owner}\";",
                # Sessions act as the owner, so what a release creates outlives its user.
                f'ALTER ROLE "{{{{name}}}}" SET role = "{owner}";',
            ],
            revocation=['DROP ROLE IF EXISTS "{{name}}";'],
            ttl=self._ttl(ctx),
            max_ttl=str(ctx.params.get("max_ttl") or self._bao.settings.lease_max_ttl),
        )

    def _current(self, ctx: ResourceContext) -> Credentials | None:
        stored = self._kv.read(self._record_path(ctx))
        if stored is None or not {"username", "password", "lease_id"} <= set(stored.fields):
            return None
        ttl = stored.fields.get("ttl")
        return Credentials(
            username=stored.fields["username"].reveal(),
            password=stored.fields["password"],
            lease_id=stored.fields["lease_id"].reveal(),
            ttl=int(ttl.reveal()) if ttl is not None else 0,
        )

    def _healthy(self, ctx: ResourceContext, creds: Credentials) -> bool:
        """The lease runs, with at least half of its granted time left."""
        left = self._engine.lease_ttl(creds.lease_id)
        granted = creds.ttl or seconds(self._ttl(ctx))
        return left is not None and left * 2 >= granted

    def _issue(self, ctx: ResourceContext, replaced: Credentials | None) -> Credentials:
        creds = self._engine.issue(self._role(ctx))
        self._kv.write(
            self._record_path(ctx),
            {
                "username": Secret(creds.username),
                "password": creds.password,
                "lease_id": Secret(creds.lease_id),
                "ttl": Secret(str(creds.ttl)),
            },
        )
        if replaced is not None and replaced.lease_id != creds.lease_id:
            # Through the model: a param the rule and workload leave out has its default
            # (300 s), not 0 (which cut the replaced release off at once).
            grace = DynamicPostgresParams.model_validate(dict(ctx.params)).rotation_grace
            self._engine.shorten(replaced.lease_id, max(grace, 1))
        return creds

    @staticmethod
    def _outputs(base: Outputs, creds: Credentials) -> Outputs:
        host, port, name = base["host"], base["port"], base["name"]
        uri = f"postgresql://{creds.username}:{creds.password.reveal()}@{host}:{port}/{name}"
        return {
            **base,
            "username": creds.username,
            "password": creds.password,
            "uri": Secret(uri),
            "lease_id": creds.lease_id,
        }

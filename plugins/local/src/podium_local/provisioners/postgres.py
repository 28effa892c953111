"""``postgres``: a database and a role of its own in the environment's local cluster.

The database and role are both named after ``ctx.physical_name`` (made a valid
PostgreSQL identifier), so a create that crashed half-way is found and finished
by the retry. Deleting the last database stops the cluster and removes its
files: destroying an environment leaves no server running.

One cluster serves every workload of an environment, and PostgreSQL lets every
role CONNECT to every database by default (the ``PUBLIC`` grant). Each database
therefore revokes CONNECT and TEMPORARY from ``PUBLIC`` (only its owner role may
connect), and so do the ``postgres`` and ``template1`` databases, which no
workload needs. With nobody else able to connect, the ``public`` schema's
privileges need no change.
"""

from __future__ import annotations

import re
from contextlib import suppress
from typing import ClassVar

from podium.plugin import Output, Outputs, Provisioner, ResourceContext, ResourceError, Secret
from podium_local.network import HOST
from podium_local.postgres_version import PostgresParams, params_for, version_problem
from podium_local.servers.postgres_cluster import SYSTEM_DATABASES, PostgresCluster
from podium_local.settings import Settings


def identifier(physical_name: str) -> str:
    """A lowercase PostgreSQL identifier (letters, digits, ``_``; at most 63 bytes)."""
    name = re.sub(r"[^a-z0-9_]", "_", physical_name.lower())
    if not name or not name[0].isalpha():
        name = "p_" + name
    return name[:63]


class PostgresProvisioner(Provisioner):
    name: ClassVar[str] = "local-postgres"
    resource_type: ClassVar[str] = "postgres"
    holds_data: ClassVar[bool] = True
    params_model = PostgresParams  # version: refused unless it is the installed server's
    output_fields: ClassVar[dict[str, Output]] = {
        "host": Output("The server's address (loopback)."),
        "port": Output("Its port.", type=int),
        "name": Output("The database's name."),
        "database": Output("The same name (Score's usual key)."),
        "username": Output("The database's own role."),
        "password": Output("The role's password.", sensitive=True),
        "uri": Output("postgresql://username:password@host:port/name", sensitive=True),
    }

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        # The version check reads the server this instance starts (a configured directory).
        self.params_model = params_for(self.settings.postgres_bin_dir)  # type: ignore[misc]

    def _check_version(self, ctx: ResourceContext) -> None:
        """Refuse, at apply too, a version the installed server is not (a placeholder's)."""
        wanted = ctx.params.get("version")
        if wanted is None:
            return
        problem = version_problem(str(wanted), self.settings.postgres_bin_dir)
        if problem is not None:
            raise ResourceError(f"{ctx.uid}: {problem}")

    def _outputs(self, ctx: ResourceContext, port: int) -> Outputs:
        name = identifier(ctx.physical_name)
        password = ctx.generate_secret("password")
        uri = f"postgresql://{name}:{password.reveal()}@{HOST}:{port}/{name}"
        return {
            "host": HOST,
            "port": port,
            "name": name,
            "database": name,
            "username": name,
            "password": password,
            "uri": Secret(uri),
        }

    def create(self, ctx: ResourceContext) -> Outputs:
        from psycopg import errors, sql

        self._check_version(ctx)
        name = identifier(ctx.physical_name)
        password = ctx.generate_secret("password").reveal()
        cluster = PostgresCluster(ctx.env, self.settings)
        with cluster.locked(), cluster.admin() as (conn, port):
            role = sql.Identifier(name)
            # ALTER on an existing role keeps the password equal to the journaled one,
            # which is what makes a retried create converge.
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} WITH LOGIN PASSWORD {}").format(
                    role, sql.Literal(password)
                )
            )
            if (
                conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
                is None
            ):
                # Created concurrently by another process: same result.
                with suppress(errors.DuplicateDatabase):
                    conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(role, role))
            for database in (role, *(sql.Identifier(n) for n in ("postgres", "template1"))):
                conn.execute(
                    sql.SQL("REVOKE CONNECT, TEMPORARY ON DATABASE {} FROM PUBLIC").format(database)
                )
            return self._outputs(ctx, port)

    def read(self, ctx: ResourceContext) -> Outputs | None:
        name = identifier(ctx.physical_name)
        cluster = PostgresCluster(ctx.env, self.settings)
        with cluster.locked():
            if not cluster.initialized:
                return None
            # Reading restarts a stopped cluster (after a reboot, say): the resource
            # exists, and its outputs must point at a server that answers.
            with cluster.admin() as (conn, port):
                found = conn.execute(
                    "SELECT 1 FROM pg_database d JOIN pg_roles r ON r.rolname = d.datname "
                    "WHERE d.datname = %s",
                    (name,),
                ).fetchone()
                return self._outputs(ctx, port) if found else None

    def delete(self, ctx: ResourceContext) -> None:
        from psycopg import sql

        name = identifier(ctx.physical_name)
        cluster = PostgresCluster(ctx.env, self.settings)
        with cluster.locked():
            if not cluster.initialized:
                return
            with cluster.admin() as (conn, _port):
                ident = sql.Identifier(name)
                # FORCE disconnects workloads still connected (PostgreSQL 13+).
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))
                remaining = conn.execute(
                    "SELECT count(*) FROM pg_database WHERE NOT datname = ANY(%s)",
                    (list(SYSTEM_DATABASES),),
                ).fetchone()
            if remaining is not None and remaining[0] == 0:
                cluster.stop_and_remove()

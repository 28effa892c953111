"""``postgres``: one platform environment's state in tables a team shares.

The store is the core's shared SQL layer (:mod:`podium.state.sql`); this module
is its PostgreSQL dialect:

* Every table's rows carry ``(platform, environment)``: that is the store's scope.
* Writes that must be serialised per environment (the lease lock, release
  numbers) lock that environment's row in ``environments`` with
  ``SELECT ... FOR UPDATE``; under READ COMMITTED each later statement in the
  transaction sees what the previous holder committed, so of two machines racing
  for the lease exactly one wins and the other sees the winner.
* JSON is stored as text, byte for byte what the core handed over (``jsonb``
  would reorder keys and reject ``\\u0000``). Secrets arrive sealed by the core.
* Errors name the server as ``postgresql://host:port/dbname`` and never the password.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

from podium.plugin import (
    ConfigError,
    EnvironmentInfo,
    PodiumError,
    Scope,
    SqlDialect,
    SqlStateStore,
    StateBackend,
    StateError,
)
from podium_postgres.schema import migrate
from podium_postgres.settings import Settings, StateOptions

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]


# --------------------------------------------------------------------------- DSN
def dsn_params(dsn: str) -> dict[str, str]:
    """The DSN's parameters; ConfigError (quoting nothing of it) when it does not parse."""
    from psycopg import conninfo

    try:
        return {k: str(v) for k, v in conninfo.conninfo_to_dict(dsn).items() if v is not None}
    except Exception:
        # libpq's message may quote the DSN, password included: say it without it.
        raise ConfigError(
            "the dsn is not a valid PostgreSQL connection string or URI",
            field="state.options.dsn",
            hint="e.g. postgresql://user@host:5432/dbname or 'host=... dbname=...'",
        ) from None


def describe_dsn(dsn: str) -> str:
    """``postgresql://host:port/dbname``: where the state is, safe to print (no user, no password)."""
    params = dsn_params(dsn)
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or ""
    return f"postgresql://{host}:{port}/{dbname}"


#: Logical tables whose physical name differs (the rest keep theirs).
_TABLES = {"lock": "locks", "serial": "environments"}


class PostgresDialect(SqlDialect):
    """PostgreSQL: tables shared by every environment, rows scoped by (platform, environment)."""

    param: ClassVar[str] = "%s"
    bookkeeping_column: ClassVar[bool] = True

    def __init__(
        self, dsn: str, *, platform: str, environment: str, schema: str, connect_timeout: float
    ) -> None:
        import psycopg

        self.errors = (psycopg.Error,)
        self._dsn = dsn
        self._password = dsn_params(dsn).get("password")
        self.server = describe_dsn(dsn)
        self.schema = schema
        self.where = f"{platform}/{environment} ({self.server}, schema {schema})"
        self._key = Scope(("platform", "environment"), (platform, environment))
        self._s = f'"{schema}"'  # validated as a plain identifier by the settings
        self._timeout = connect_timeout

    def table(self, name: str) -> str:
        return f"{self._s}.{_TABLES.get(name, name)}"

    def scope(self, table: str) -> Scope:
        return self._key

    def open(self) -> Connection:
        db = self.connect()
        try:
            migrate(db, self.schema, self.server)
            with db.transaction():
                self._ensure_environment(db)
        except BaseException as exc:
            db.close()
            if isinstance(exc, PodiumError) or not isinstance(exc, Exception):
                raise
            raise self.error(exc, "cannot open the state") from None
        return db

    def connect(self) -> Connection:
        import psycopg

        try:
            return psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=max(1, round(self._timeout)),
                application_name="podium",
            )
        except psycopg.Error as exc:
            raise self.error(exc, "cannot connect to the state") from None

    def reusable(self, db: Connection) -> bool:
        return not db.closed and not db.broken

    def transaction(self, db: Connection, write: bool) -> AbstractContextManager[object]:
        return db.transaction()

    def _ensure_environment(self, db: Connection) -> None:
        db.execute(
            f"INSERT INTO {self.table('serial')} (platform, environment) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            self._key.values,
        )

    def lock_scope(self, db: Connection) -> None:
        self._ensure_environment(db)
        db.execute(
            f"SELECT 1 FROM {self.table('serial')} WHERE platform = %s AND environment = %s "
            "FOR UPDATE",
            self._key.values,
        )

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keys)
        marks = ", ".join(["%s"] * len(columns))
        return (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )

    def insert_returning_id(
        self, db: Connection, table: str, columns: Sequence[str], row: Sequence[Any]
    ) -> int:
        marks = ", ".join(["%s"] * len(columns))
        inserted = db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) RETURNING id", row
        ).fetchone()
        assert inserted is not None
        return int(inserted[0])

    def insert_returning_ids(
        self, db: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        # Draw the ids first so they map to the rows in order, whatever order a
        # multi-row INSERT ... RETURNING would report them in.
        ids = sorted(
            int(drawn[0])
            for drawn in db.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (table, len(rows)),
            ).fetchall()
        )
        marks = ", ".join(["%s"] * (len(columns) + 1))
        with db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (id, {', '.join(columns)}) VALUES ({marks})",
                [(i, *row) for i, row in zip(ids, rows, strict=True)],
            )
        return ids

    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def error(self, exc: BaseException, doing: str) -> StateError:
        import psycopg

        reason = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        # No SQLSTATE: the server never answered (refused, timed out, lost the connection).
        if isinstance(exc, psycopg.OperationalError) and getattr(exc, "sqlstate", None) is None:
            return StateError(
                f"{doing} of {self.where}: the PostgreSQL server is unreachable or refused "
                f"the connection: {reason}",
                hint=f"check that {self.server} is up and reachable and the credentials are right",
            )
        return StateError(f"{doing} of {self.where}: {reason}")


class PostgresStateStore(SqlStateStore):
    """State of one platform environment in a PostgreSQL schema shared with others."""

    def __init__(
        self,
        dsn: str,
        *,
        platform: str,
        environment: str,
        schema: str = "podium",
        connect_timeout: float = 10.0,
        intent_retention_days: float = 30.0,
    ) -> None:
        dialect = PostgresDialect(
            dsn,
            platform=platform,
            environment=environment,
            schema=schema,
            connect_timeout=connect_timeout,
        )
        self.server = dialect.server
        self.schema = schema
        super().__init__(dialect, intent_retention_days=intent_retention_days)


class PostgresStateBackend(StateBackend):
    """``[state] backend = "postgres"``.

    Options (each overrides the ``[plugins.postgres]`` setting of the same name):
    ``dsn``, ``schema``, ``connect_timeout``, ``intent_retention_days``.
    """

    name: ClassVar[str] = "postgres"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings if settings is not None else Settings()

    def open(self, env: EnvironmentInfo, options: dict[str, Any]) -> PostgresStateStore:
        from pydantic import ValidationError

        try:
            opts = StateOptions.model_validate(options)
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(p) for p in first["loc"])
            raise ConfigError(
                f"invalid option for the postgres state backend: {first['msg']}",
                field=f"state.options.{key}" if key else "state.options",
            ) from None
        dsn = opts.dsn or self.settings.dsn
        if not dsn:
            raise ConfigError(
                "the postgres state backend needs a dsn",
                field="state.options.dsn",
                hint="set [state] options.dsn, [plugins.postgres] dsn or PODIUM_PLUGIN_POSTGRES_DSN",
            )
        return PostgresStateStore(
            dsn,
            platform=env.platform,
            environment=env.environment,
            schema=opts.schema_name or self.settings.schema_name,
            connect_timeout=opts.connect_timeout or self.settings.connect_timeout,
            intent_retention_days=opts.intent_retention_days or self.settings.intent_retention_days,
        )

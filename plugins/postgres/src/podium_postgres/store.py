"""``postgres``: one platform environment's state in tables a team shares.

The store is the core's shared SQL layer (:mod:`podium.state.sql`); this module
is its PostgreSQL dialect:

* Every table's rows carry ``(platform, environment)``: that is the store's scope.
* Writes that must be serialised per environment (the lease lock, release numbers,
  appends to the audit chain) lock that environment's row in ``environments`` with
  ``SELECT ... FOR UPDATE``; under READ COMMITTED each later statement in the
  transaction sees what the previous holder committed, so of two machines racing
  for the lease exactly one wins and the other sees the winner.
* JSON is stored as text, byte for byte what the core handed over (``jsonb``
  would reorder keys and reject ``\\u0000``). Secrets arrive sealed by the core.
* Errors name the server as ``postgresql://host:port/dbname`` and never the password.
* Every connection carries PostgreSQL's own wait limits (``pg_lock_timeout``,
  ``pg_statement_timeout``: see :mod:`podium_postgres.connection`). A connection
  lost to a server restart is replaced, and idempotent calls are retried for up
  to ``reconnect_timeout`` (:mod:`podium.state.sql.reconnect`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from podium.plugin import (
    ConfigError,
    ConnectionLost,
    EnvironmentInfo,
    PodiumError,
    Scope,
    SqlDialect,
    SqlStateStore,
    StateBackend,
    StateError,
)
from podium_postgres import connection
from podium_postgres.connection import Limits
from podium_postgres.dsn import CREDENTIAL_KEYS, MASK, describe_dsn, dsn_params
from podium_postgres.schema import migrate
from podium_postgres.settings import Settings, StateOptions

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[Any, ...]]


#: Logical tables whose physical name differs (the rest keep theirs).
_TABLES = {
    "lock": "locks",
    "serial": "environments",
    "epoch": "environments",
    "audit_head": "environments",
}


class PostgresDialect(SqlDialect):
    """PostgreSQL: tables shared by every environment, rows scoped by (platform, environment)."""

    param: ClassVar[str] = "%s"
    # A fenced write share-locks its environment's row: the FOR UPDATE that grants a
    # new lease (lock_scope) waits for it to commit, and the run's other writers
    # (and their serial updates) do not.
    fence_lock: ClassVar[str] = " FOR KEY SHARE"
    bookkeeping_column: ClassVar[bool] = True
    audit_chain: ClassVar[bool] = True

    def __init__(
        self,
        dsn: str,
        *,
        platform: str,
        environment: str,
        schema: str,
        connect_timeout: float = 10.0,
        limits: Limits | None = None,
    ) -> None:
        import psycopg

        self.errors = (psycopg.Error,)
        self._dsn = dsn
        params = dsn_params(dsn)
        # As libpq reads them, and as written in a URI (percent-encoded): a message
        # could quote either.
        self._credentials = {
            form
            for key in CREDENTIAL_KEYS
            if params.get(key)
            for form in (params[key], quote(params[key], safe=""))
        }
        self.server = describe_dsn(dsn)
        self.schema = schema
        self.where = f"{platform}/{environment} ({self.server}, schema {schema})"
        self._key = Scope(("platform", "environment"), (platform, environment))
        self._s = f'"{schema}"'  # validated as a plain identifier by the settings
        self.limits = limits if limits is not None else Limits(connect_timeout=connect_timeout)
        self.reconnect_timeout = self.limits.reconnect_timeout

    def table(self, name: str) -> str:
        return f"{self._s}.{_TABLES.get(name, name)}"

    def scope(self, table: str) -> Scope:
        return self._key

    def open(self) -> Connection:
        # The first connection fails at once: an unreachable server or bad
        # credentials are a setup problem, not a restart to wait out.
        db = self._connect_once()
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
        """One more connection; while the server restarts, retried for ``reconnect_timeout``.

        Connecting again is always safe (nothing was sent), so every state call,
        idempotent or not, waits out a restart here.
        """
        try:
            return self._connect_once()
        except ConnectionLost:
            if self.reconnect_timeout <= 0:
                raise
        import tenacity

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_delay(self.reconnect_timeout),
            wait=tenacity.wait_exponential_jitter(multiplier=0.1, max=2.0, jitter=0.1),
            retry=tenacity.retry_if_exception_type(ConnectionLost),
            reraise=True,
        )
        return retrying(self._connect_once)

    def _connect_once(self) -> Connection:
        import psycopg

        try:
            return connection.connect(self._dsn, self.limits)
        except psycopg.Error as exc:
            raise self.error(exc, "cannot connect to the state") from None

    def reusable(self, db: Connection) -> bool:
        return not connection.went_away(db)

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

    def next_id(self, db: Connection, table: str) -> int:
        drawn = db.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (table,)).fetchone()
        assert drawn is not None
        return int(drawn[0])

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
        for credential in sorted(self._credentials, key=len, reverse=True):
            text = text.replace(credential, MASK)
        return text

    def error(self, exc: BaseException, doing: str) -> StateError:
        reason = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        state = getattr(exc, "sqlstate", None)
        if connection.lost(exc):
            return ConnectionLost(
                f"{doing} of {self.where}: the PostgreSQL server is unreachable, restarting or "
                f"refused the connection: {reason}",
                hint=f"check that {self.server} is up and reachable and the credentials are right",
            )
        if state == connection.LOCK_TIMED_OUT:
            return StateError(
                f"{doing} of {self.where}: waited pg_lock_timeout "
                f"({self.limits.pg_lock_timeout:g}s) for a lock another database session "
                f"holds: {reason}",
                hint="find the session in pg_stat_activity (often 'idle in transaction') and end "
                "it, or raise pg_lock_timeout; this is not Podium's lease (see 'podium state unlock')",
            )
        if state == connection.STATEMENT_CANCELLED:
            return StateError(
                f"{doing} of {self.where}: a statement ran past pg_statement_timeout "
                f"({self.limits.pg_statement_timeout:g}s) or was cancelled: {reason}",
                hint="check the server's load, or raise pg_statement_timeout",
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
        limits: Limits | None = None,
    ) -> None:
        dialect = PostgresDialect(
            dsn,
            platform=platform,
            environment=environment,
            schema=schema,
            connect_timeout=connect_timeout,
            limits=limits,
        )
        self.server = dialect.server
        self.schema = schema
        super().__init__(dialect, intent_retention_days=intent_retention_days)


class PostgresStateBackend(StateBackend):
    """``[state] backend = "postgres"``.

    Options (each overrides the ``[plugins.postgres]`` setting of the same name):
    ``dsn``, ``schema``, ``connect_timeout``, ``intent_retention_days``,
    ``pg_lock_timeout``, ``pg_statement_timeout``, ``reconnect_timeout``.
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
        secret = opts.dsn if opts.dsn is not None else self.settings.dsn
        dsn = secret.get_secret_value() if secret is not None else None
        if not dsn:
            raise ConfigError(
                "the postgres state backend needs a dsn",
                field="state.options.dsn",
                hint="set [state] options.dsn, [plugins.postgres] dsn or PODIUM_PLUGIN_POSTGRES_DSN",
            )

        def option(name: str) -> Any:
            value = getattr(opts, name)
            return getattr(self.settings, name) if value is None else value

        limits = Limits(
            **{name: option(name) for name in Limits.__dataclass_fields__},
        )
        return PostgresStateStore(
            dsn,
            platform=env.platform,
            environment=env.environment,
            schema=option("schema_name"),
            connect_timeout=limits.connect_timeout,
            intent_retention_days=option("intent_retention_days"),
            limits=limits,
        )

"""``postgres``: one platform environment's state in tables a team shares.

Choices:

* Every method is one transaction on a connection from a small pool (one per
  concurrent caller, reused), so engine threads never wait for each other's reads.
* Writes that must be serialised per environment (the lease lock, release
  numbers, the serial) lock that environment's row in ``environments`` with
  ``SELECT ... FOR UPDATE``; under READ COMMITTED each later statement in the
  transaction sees what the previous holder committed, so of two machines racing
  for the lease exactly one wins and the other sees the winner.
* JSON is stored as text, byte for byte what the core handed over (``jsonb``
  would reorder keys and reject ``\\u0000``). Secrets arrive sealed by the core.
* Errors name the server as ``postgresql://host:port/dbname`` and never the password.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from podium.plugin import (
    RECORD_COLUMNS,
    ConfigError,
    EnvironmentInfo,
    Intent,
    IntentOutcome,
    LockInfo,
    NotFoundError,
    PodiumError,
    ResourceRecord,
    StateBackend,
    StateError,
    TransactionalStateStore,
    dumps,
    locked_error,
    now_iso,
    record_from_row,
    record_placeholders,
    record_row,
    takeover_reason,
    without,
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


_LOCK_COLUMNS = "owner, host, pid, run_id, acquired_at, expires_at, operation"


class PostgresStateStore(TransactionalStateStore):
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
        self._dsn = dsn
        self._password = dsn_params(dsn).get("password")
        self.server = describe_dsn(dsn)
        self.schema = schema
        self.where = f"{platform}/{environment} ({self.server}, schema {schema})"
        self._key = (platform, environment)
        self._s = f'"{schema}"'  # validated as a plain identifier by the settings
        self._timeout = connect_timeout
        self._retention = timedelta(days=intent_retention_days)
        self._pool_lock = threading.Lock()
        self._idle: list[Connection] = []
        self._closed = False
        try:
            db = self._connect()
            self._idle.append(db)
            try:
                migrate(db, schema, self.server)
                with db.transaction():
                    db.execute(
                        f"INSERT INTO {self._s}.environments (platform, environment) "
                        "VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        self._key,
                    )
            except PodiumError:
                raise
            except Exception as exc:
                raise self._error(exc, "cannot open the state") from None
        except BaseException:
            self.close()
            raise

    # --- connections ------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _error(self, exc: BaseException, doing: str) -> StateError:
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

    def _connect(self) -> Connection:
        import psycopg

        try:
            return psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=max(1, round(self._timeout)),
                application_name="podium",
            )
        except psycopg.Error as exc:
            raise self._error(exc, "cannot connect to the state") from None

    def _checkout(self) -> Connection:
        with self._pool_lock:
            if self._closed:
                raise StateError(f"the state store for {self.where} is closed")
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, db: Connection) -> None:
        with self._pool_lock:
            if not self._closed and not db.closed and not db.broken:
                self._idle.append(db)
                return
        db.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        """One transaction; psycopg errors become StateErrors naming the server, not the password."""
        import psycopg

        db = self._checkout()
        try:
            with db.transaction():
                yield db
        except psycopg.Error as exc:
            raise self._error(exc, "cannot read or write the state") from None
        finally:
            self._checkin(db)

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # --- version ----------------------------------------------------------------
    def serial(self) -> int:
        with self._tx() as db:
            row = db.execute(
                f"SELECT serial FROM {self._s}.environments WHERE platform = %s AND environment = %s",
                self._key,
            ).fetchone()
        return 0 if row is None else int(row[0])

    def _bump_serial(self, db: Connection) -> None:
        db.execute(
            f"UPDATE {self._s}.environments SET serial = serial + 1 "
            "WHERE platform = %s AND environment = %s",
            self._key,
        )

    def _lock_environment(self, db: Connection) -> None:
        """Serialise this transaction with every other that locks this environment."""
        db.execute(
            f"INSERT INTO {self._s}.environments (platform, environment) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING",
            self._key,
        )
        db.execute(
            f"SELECT 1 FROM {self._s}.environments WHERE platform = %s AND environment = %s "
            "FOR UPDATE",
            self._key,
        )

    # --- records ----------------------------------------------------------------
    def records(self) -> list[ResourceRecord]:
        with self._tx() as db:
            rows = db.execute(
                f"SELECT {RECORD_COLUMNS} FROM {self._s}.records "
                "WHERE platform = %s AND environment = %s ORDER BY uid",
                self._key,
            ).fetchall()
        return [record_from_row(row) for row in rows]

    def _record_row(self, record: ResourceRecord) -> tuple[Any, ...]:
        return (*self._key, *record_row(record))

    def _upsert_records(self, db: Connection, rows: list[tuple[Any, ...]]) -> None:
        updates = ", ".join(
            f"{c.strip()} = EXCLUDED.{c.strip()}" for c in RECORD_COLUMNS.split(",")[1:]
        )
        with db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self._s}.records (platform, environment, {RECORD_COLUMNS}) "
                f"VALUES ({record_placeholders('%s', extra=2)}) "
                f"ON CONFLICT (platform, environment, uid) DO UPDATE SET {updates}",
                rows,
            )

    def put_record(self, record: ResourceRecord) -> None:
        row = self._record_row(record)  # serialise (and refuse Secrets) before the transaction
        with self._tx() as db:
            self._upsert_records(db, [row])
            self._bump_serial(db)

    def delete_record(self, uid: str) -> None:
        with self._tx() as db:
            cursor = db.execute(
                f"DELETE FROM {self._s}.records "
                "WHERE platform = %s AND environment = %s AND uid = %s",
                (*self._key, uid),
            )
            if cursor.rowcount:
                self._bump_serial(db)

    # --- intent journal -----------------------------------------------------------
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        """Close ``outcomes`` and insert ``intents`` in one transaction: all of it or none."""
        if not outcomes and not intents:
            return []
        now = now_iso()
        # Serialise before the transaction: JSON work needs no connection.
        records = [self._record_row(o.record) for o in outcomes if o.record is not None]
        deletes = [o.delete_uid for o in outcomes if o.delete_uid is not None]
        closing = [o.intent_id for o in outcomes]
        opening = [
            (i.node, i.action, dumps(i.spec), i.run_id, i.started_at or now) for i in intents
        ]
        with self._tx() as db:
            if closing:
                closed = db.execute(
                    f"UPDATE {self._s}.intents SET completed_at = %s "
                    "WHERE platform = %s AND environment = %s AND id = ANY(%s) "
                    "AND completed_at IS NULL RETURNING id",
                    (now, *self._key, closing),
                ).fetchall()
                missing = sorted(set(closing) - {int(row[0]) for row in closed})
                if missing:
                    names = ", ".join(str(i) for i in missing)
                    raise StateError(f"intent {names} is not pending in {self.where}")
            changed = False
            if records:
                self._upsert_records(db, records)
                changed = True
            if deletes:
                cursor = db.execute(
                    f"DELETE FROM {self._s}.records "
                    "WHERE platform = %s AND environment = %s AND uid = ANY(%s)",
                    (*self._key, deletes),
                )
                changed = changed or bool(cursor.rowcount)
            if changed:
                self._bump_serial(db)  # once: one transaction is one change for readers
            return self._insert_intents(db, opening)

    def _insert_intents(self, db: Connection, opening: list[tuple[Any, ...]]) -> list[int]:
        if not opening:
            return []
        # Draw the ids first so they map to the intents in order, whatever order
        # a multi-row INSERT ... RETURNING would report them in.
        ids = sorted(
            int(row[0])
            for row in db.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                (f"{self._s}.intents", len(opening)),
            ).fetchall()
        )
        with db.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self._s}.intents "
                "(id, platform, environment, node, action, spec, run_id, started_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [(i, *self._key, *row) for i, row in zip(ids, opening, strict=True)],
            )
        return ids

    def pending_intents(self) -> list[Intent]:
        with self._tx() as db:
            rows = db.execute(
                f"SELECT id, node, action, spec, run_id, started_at FROM {self._s}.intents "
                "WHERE platform = %s AND environment = %s AND completed_at IS NULL ORDER BY id",
                self._key,
            ).fetchall()
        return [
            Intent(node=node, action=action, spec=json.loads(spec), run_id=run, id=i, started_at=at)
            for i, node, action, spec, run, at in rows
        ]

    def _prune_intents(self, db: Connection) -> None:
        # The journal matters only while an intent is pending; history is the audit
        # trail. Completed intents are kept a while for debugging, then dropped.
        cutoff = (datetime.now(UTC) - self._retention).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        db.execute(
            f"DELETE FROM {self._s}.intents WHERE platform = %s AND environment = %s "
            "AND completed_at IS NOT NULL AND completed_at < %s",
            (*self._key, cutoff),
        )

    # --- generated values ---------------------------------------------------------
    def get_generated(self, node: str, key: str) -> str | None:
        with self._tx() as db:
            row = db.execute(
                f"SELECT token FROM {self._s}.generated "
                "WHERE platform = %s AND environment = %s AND node = %s AND key = %s",
                (*self._key, node, key),
            ).fetchone()
        return None if row is None else str(row[0])

    def put_generated(self, node: str, key: str, token: str) -> None:
        with self._tx() as db:
            db.execute(
                f"INSERT INTO {self._s}.generated (platform, environment, node, key, token) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (platform, environment, node, key) "
                "DO UPDATE SET token = EXCLUDED.token",
                (*self._key, node, key, token),
            )

    def forget_generated(self, node: str) -> None:
        with self._tx() as db:
            db.execute(
                f"DELETE FROM {self._s}.generated "
                "WHERE platform = %s AND environment = %s AND node = %s",
                (*self._key, node),
            )

    # --- lease lock -----------------------------------------------------------------
    def acquire_lock(self, info: LockInfo) -> LockInfo | None:
        with self._tx() as db:
            self._lock_environment(db)
            held = self._read_lock(db)
            taken_over: LockInfo | None = None
            if held is not None and held.run_id != info.run_id:
                if takeover_reason(held) is None:
                    raise locked_error(held, self.where)
                taken_over = held
            db.execute(
                f"INSERT INTO {self._s}.locks (platform, environment, {_LOCK_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (platform, environment) DO UPDATE SET "
                "owner = EXCLUDED.owner, host = EXCLUDED.host, pid = EXCLUDED.pid, "
                "run_id = EXCLUDED.run_id, acquired_at = EXCLUDED.acquired_at, "
                "expires_at = EXCLUDED.expires_at, operation = EXCLUDED.operation",
                (
                    *self._key,
                    info.owner,
                    info.host,
                    info.pid,
                    info.run_id,
                    info.acquired_at,
                    info.expires_at,
                    info.operation,
                ),
            )
            self._prune_intents(db)
        return taken_over

    def renew_lock(self, run_id: str, expires_at: float) -> None:
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE {self._s}.locks SET expires_at = %s "
                "WHERE platform = %s AND environment = %s AND run_id = %s",
                (expires_at, *self._key, run_id),
            )
            if cursor.rowcount:
                return
            held = self._read_lock(db)
        if held is None:
            raise StateError(f"run {run_id} lost its lock on {self.where}: the lock was removed")
        raise StateError(
            f"run {run_id} lost its lock on {self.where}: it is now held by {held.owner} "
            f"(host {held.host}, pid {held.pid}, run {held.run_id})"
        )

    def release_lock(self, run_id: str) -> None:
        with self._tx() as db:
            db.execute(
                f"DELETE FROM {self._s}.locks "
                "WHERE platform = %s AND environment = %s AND run_id = %s",
                (*self._key, run_id),
            )

    def lock_info(self) -> LockInfo | None:
        with self._tx() as db:
            return self._read_lock(db)

    def force_unlock(self) -> LockInfo | None:
        with self._tx() as db:
            row = db.execute(
                f"DELETE FROM {self._s}.locks WHERE platform = %s AND environment = %s "
                f"RETURNING {_LOCK_COLUMNS}",
                self._key,
            ).fetchone()
        return None if row is None else _lock_from_row(row)

    def _read_lock(self, db: Connection) -> LockInfo | None:
        row = db.execute(
            f"SELECT {_LOCK_COLUMNS} FROM {self._s}.locks WHERE platform = %s AND environment = %s",
            self._key,
        ).fetchone()
        return None if row is None else _lock_from_row(row)

    # --- history and releases ---------------------------------------------------------
    def add_history(self, entry: dict[str, Any]) -> int:
        data = dumps(without(entry, "id"))
        with self._tx() as db:
            row = db.execute(
                f"INSERT INTO {self._s}.history (platform, environment, data) "
                "VALUES (%s, %s, %s) RETURNING id",
                (*self._key, data),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def update_history(self, entry_id: int, entry: dict[str, Any]) -> None:
        data = dumps(without(entry, "id"))
        with self._tx() as db:
            cursor = db.execute(
                f"UPDATE {self._s}.history SET data = %s "
                "WHERE platform = %s AND environment = %s AND id = %s",
                (data, *self._key, entry_id),
            )
            if not cursor.rowcount:
                raise NotFoundError(f"no history entry {entry_id} in {self.where}")

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute(
                f"SELECT id, data FROM {self._s}.history "
                "WHERE platform = %s AND environment = %s ORDER BY id DESC LIMIT %s",
                (*self._key, limit),
            ).fetchall()
        return [{**json.loads(data), "id": int(entry_id)} for entry_id, data in rows]

    def add_release(self, workload: str, data: dict[str, Any]) -> int:
        payload = dumps(without(data, "number"))
        with self._tx() as db:
            self._lock_environment(db)  # two machines must not both take number N
            row = db.execute(
                f"SELECT COALESCE(MAX(number), 0) + 1 FROM {self._s}.releases "
                "WHERE platform = %s AND environment = %s AND workload = %s",
                (*self._key, workload),
            ).fetchone()
            assert row is not None
            number = int(row[0])
            db.execute(
                f"INSERT INTO {self._s}.releases (platform, environment, workload, number, data) "
                "VALUES (%s, %s, %s, %s, %s)",
                (*self._key, workload, number, payload),
            )
        return number

    def releases(self, workload: str) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute(
                f"SELECT number, data FROM {self._s}.releases "
                "WHERE platform = %s AND environment = %s AND workload = %s ORDER BY number",
                (*self._key, workload),
            ).fetchall()
        return [{**json.loads(data), "number": int(number)} for number, data in rows]


def _lock_from_row(row: tuple[Any, ...]) -> LockInfo:
    owner, host, pid, run_id, acquired_at, expires_at, operation = row
    return LockInfo(owner, host, int(pid), run_id, float(acquired_at), float(expires_at), operation)


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

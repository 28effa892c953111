"""The embedded state backend: one SQLite database per platform and environment.

The store's logic is the shared SQL layer (:mod:`podium.state.sql`); this module
is its SQLite dialect, the database file's life cycle and the backend's options.

Durability and concurrency choices, measured with tests/state/bench_sqlite.py
on the reference VM (ext4 on a virtual disk):

* WAL journal with ``synchronous=NORMAL`` by default: begin_intent plus
  complete_intent cost about 135 us per node, against about 450 us with
  ``FULL`` (an fsync per commit; far more on slower disks). Under NORMAL every
  commit is in the WAL and handed to the OS before the call returns, so it
  survives a crash or kill of Podium, the failure the intent journal exists
  for. Only an OS crash or power loss can drop the last few commits, and
  recovery still copes: physical names are deterministic, so a resource whose
  intent was lost is found again by name. ``synchronous = "full"`` is there
  for those who want power-loss durability at that price.
* A small connection pool (a connection per concurrent caller, reused) rather
  than one connection behind a lock: readers run in parallel and no thread
  ever waits for another's read. Writers in this process take a mutex first
  so they queue in Python instead of in SQLite's busy handler, and concurrent
  journal writes share one commit (``group_commit``).
* Every method is one transaction; writes use ``BEGIN IMMEDIATE`` so they take
  the write lock up front and wait (``busy_timeout``) for another process
  rather than fail halfway.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from podium.errors import ConfigError, StateError
from podium.platform.context import EnvironmentInfo
from podium.platform.contract import StateBackend
from podium.state import database_file
from podium.state.schema import migrate
from podium.state.sql import Scope, SqlDialect, SqlStateStore

DB_FILE_NAME = "state.db"
_SYNCHRONOUS = ("normal", "full")
_OPTIONS = ("path", "synchronous", "busy_timeout", "intent_retention_days")
#: Logical tables whose physical name differs (the rest keep theirs).
_TABLES = {"serial": "meta", "epoch": "meta"}
#: The lease is the one row of ``lock`` (id 1), the audit chain's head the one row of
#: ``audit_head``; the serial and the fencing epoch are the ``serial`` and ``epoch`` rows
#: of ``meta``.
_SCOPES = {
    "lock": Scope(("id",), (1,)),
    "audit_head": Scope(("id",), (1,)),
    "serial": Scope(("key",), ("serial",)),
    "epoch": Scope(("key",), ("epoch",)),
}


class SqliteDialect(SqlDialect):
    """SQLite: one database file per environment, one writer at a time (``BEGIN IMMEDIATE``)."""

    param: ClassVar[str] = "?"
    group_commit: ClassVar[bool] = True
    serial_column: ClassVar[str] = "value"
    epoch_column: ClassVar[str] = "value"
    bookkeeping_column: ClassVar[bool] = True
    audit_chain: ClassVar[bool] = True
    errors = (sqlite3.Error,)

    def __init__(self, path: Path, *, where: str, synchronous: str, busy_timeout: float) -> None:
        self.path = path
        self.where = where
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        # The journal inserts intents on every call: build each INSERT once.
        self._inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    def table(self, name: str) -> str:
        return _TABLES.get(name, name)

    def scope(self, table: str) -> Scope:
        return _SCOPES.get(table, Scope())

    def open(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = None
        try:
            database_file.open_existing(self.path, lambda new: migrate(new, self.path))
            db = self._connect()
            migrate(db, self.path)
            return db
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            if type(exc) is sqlite3.DatabaseError:  # "not a database", "malformed"
                raise database_file.damaged(self.path, str(exc)) from None
            raise StateError(f"cannot open state database {self.path}: {exc}") from None
        except BaseException:
            if db is not None:
                db.close()
            raise

    def connect(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state database {self.path}: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        # Never creates the file: a missing database here means it vanished after
        # open (only database_file.ensure makes one, complete and private).
        db = database_file.connect(self.path, self.busy_timeout)
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        self._enable_wal(db)
        db.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    def _enable_wal(self, db: sqlite3.Connection) -> None:
        # Switching to WAL needs a moment of exclusive access and does not always
        # wait on the busy handler, so retry while another process opens the file.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
                continue
            if str(mode).lower() != "wal":
                raise StateError(f"state database cannot use WAL journaling (got {mode!r})")
            return

    def transaction(self, db: sqlite3.Connection, write: bool) -> _Transaction:
        return _Transaction(db, write)

    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        # No foreign keys or triggers on these tables: REPLACE is an upsert.
        marks = ", ".join("?" * len(columns))
        return f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def insert_returning_id(
        self, db: sqlite3.Connection, table: str, columns: Sequence[str], row: Sequence[Any]
    ) -> int:
        return self.insert_returning_ids(db, table, columns, [row])[0]

    def insert_returning_ids(
        self,
        db: sqlite3.Connection,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> list[int]:
        sql = self._inserts.get((table, tuple(columns)))
        if sql is None:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            self._inserts[(table, tuple(columns))] = sql
        ids = []
        for row in rows:
            cursor = db.execute(sql, row)
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
        return ids

    def next_id(self, db: sqlite3.Connection, table: str) -> int:
        # AUTOINCREMENT never reuses an id, even of a deleted row: neither may we.
        row = db.execute(
            f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0)) + 1",
            (table,),
        ).fetchone()
        return int(row[0])

    def executemany(self, db: sqlite3.Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return db.executemany(sql, rows).rowcount

    def error(self, exc: BaseException, doing: str) -> StateError:
        if isinstance(exc, sqlite3.OperationalError) and (
            "locked" in str(exc) or "busy" in str(exc)
        ):
            return StateError(
                f"state database {self.path} stayed busy: another process held it too long",
                hint="retry; if it persists, look for a hung podium process",
            )
        if type(exc) is sqlite3.DatabaseError:  # "not a database", "malformed"
            return database_file.damaged(self.path, str(exc))
        return StateError(f"state database {self.path}: {exc}")


class _Transaction:
    """``BEGIN`` ... ``COMMIT``, or ``ROLLBACK`` if the block raises.

    Writes begin ``IMMEDIATE``: they take the write lock up front and wait
    (``busy_timeout``) for another process rather than fail halfway. Reads get a
    consistent snapshot. A class rather than a generator: this runs twice per
    node on the journal's hot path.
    """

    __slots__ = ("db", "write")

    def __init__(self, db: sqlite3.Connection, write: bool) -> None:
        self.db = db
        self.write = write

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.db.execute("COMMIT")
                return
        except BaseException:
            self._roll_back()
            raise
        self._roll_back()

    def _roll_back(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")


class SqliteStateStore(SqlStateStore):
    """State of one platform environment in a SQLite database file."""

    def __init__(
        self,
        path: Path | str,
        *,
        where: str | None = None,
        synchronous: str = "normal",
        busy_timeout: float = 30.0,
        intent_retention_days: float = 30.0,
    ) -> None:
        if synchronous not in _SYNCHRONOUS:
            raise StateError(f"synchronous must be one of {', '.join(_SYNCHRONOUS)}")
        self.path = Path(path)
        self.synchronous = synchronous
        dialect = SqliteDialect(
            self.path,
            where=where or str(self.path),
            synchronous=synchronous,
            busy_timeout=busy_timeout,
        )
        super().__init__(dialect, intent_retention_days=intent_retention_days)


class SqliteStateBackend(StateBackend):
    """``[state] backend = "sqlite"`` (the default).

    Options: ``path`` (database file; relative paths are under the environment's
    state directory; default ``<state_dir>/state.db``), ``synchronous``
    (``"normal"`` or ``"full"``), ``busy_timeout`` (seconds to wait for another
    process's write), ``intent_retention_days`` (how long completed intents are kept).
    """

    name: ClassVar[str] = "sqlite"

    def open(self, env: EnvironmentInfo, options: dict[str, Any]) -> SqliteStateStore:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown option(s) {', '.join(unknown)} for the sqlite state backend; "
                f"valid: {', '.join(_OPTIONS)}",
                field=f"state.options.{unknown[0]}",
            )
        path = Path(str(options.get("path", DB_FILE_NAME))).expanduser()
        if not path.is_absolute():
            path = Path(env.state_dir) / path
        synchronous = str(options.get("synchronous", "normal")).lower()
        if synchronous not in _SYNCHRONOUS:
            raise ConfigError(
                f"must be one of {', '.join(_SYNCHRONOUS)}, not {synchronous!r}",
                field="state.options.synchronous",
            )
        return SqliteStateStore(
            path,
            where=f"{env.platform}/{env.environment}",
            synchronous=synchronous,
            busy_timeout=_positive(options, "busy_timeout", 30.0),
            intent_retention_days=_positive(options, "intent_retention_days", 30.0),
        )


def _positive(options: dict[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"must be a positive number, not {value!r}", field=f"state.options.{key}")
    return float(value)

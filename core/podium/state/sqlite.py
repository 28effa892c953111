"""The embedded state backend: one SQLite database per platform and environment.

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
  so they queue in Python instead of in SQLite's busy handler (see ``_tx``).
* Every method is one transaction; writes use ``BEGIN IMMEDIATE`` so they take
  the write lock up front and wait (``busy_timeout``) for another process
  rather than fail halfway.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from podium.errors import ConfigError, NotFoundError, StateError
from podium.platform.context import EnvironmentInfo
from podium.platform.contract import (
    Intent,
    IntentOutcome,
    LockInfo,
    ResourceRecord,
    StateBackend,
    TransactionalStateStore,
)
from podium.state import database_file
from podium.state.lease import locked_error, takeover_reason
from podium.state.rows import (
    RECORD_COLUMNS,
    dumps,
    now_iso,
    record_from_row,
    record_placeholders,
    record_row,
    without,
)
from podium.state.schema import migrate

T = TypeVar("T")

DB_FILE_NAME = "state.db"
_SYNCHRONOUS = ("normal", "full")
_OPTIONS = ("path", "synchronous", "busy_timeout", "intent_retention_days")
_RECORD_VALUES = record_placeholders("?")


class SqliteStateStore(TransactionalStateStore):
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
        self.where = where or str(self.path)
        self.synchronous = synchronous
        self._retention = timedelta(days=intent_retention_days)
        self._busy_timeout = busy_timeout
        self._pool_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        # Writers in this process queue on a mutex rather than in SQLite's busy
        # handler, whose sleeps grow to 100 ms: measured with 8 threads, the
        # slowest write took 13 ms with the mutex and 300-500 ms without.
        # Writers in other processes still wait in the busy handler.
        self._write_mutex = threading.Lock()
        # Group commit: writes queued here while another thread commits are all
        # committed together by the next thread to take the write mutex (see _grouped).
        self._queue_lock = threading.Lock()
        self._queue: list[_QueuedWrite] = []
        self._leading = False  # a writer is committing the queue
        self._batching = False  # inside _run_batch (under the write mutex)
        self._serial_dirty = False
        try:
            database_file.open_existing(self.path, lambda db: migrate(db, self.path))
            db = self._connect(busy_timeout)
            self._idle.append(db)
            migrate(db, self.path)
        except sqlite3.Error as exc:
            self.close()
            if type(exc) is sqlite3.DatabaseError:  # "not a database", "malformed"
                raise database_file.damaged(self.path, str(exc)) from None
            raise StateError(f"cannot open state database {self.path}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        # Never creates the file: a missing database here means it vanished after
        # open (only database_file.ensure makes one, complete and private).
        db = database_file.connect(self.path, busy_timeout)
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        self._enable_wal(db, busy_timeout)
        db.execute(f"PRAGMA synchronous = {self.synchronous.upper()}")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @staticmethod
    def _enable_wal(db: sqlite3.Connection, busy_timeout: float) -> None:
        # Switching to WAL needs a moment of exclusive access and does not always
        # wait on the busy handler, so retry while another process opens the file.
        deadline = time.monotonic() + busy_timeout
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

    # --- transactions ---------------------------------------------------------
    @contextmanager
    def _tx(self, write: bool) -> Iterator[sqlite3.Connection]:
        with self._write_mutex if write else nullcontext():
            db = self._checkout()
            try:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise StateError(
                        f"state database {self.path} stayed busy: another process held it too long",
                        hint="retry; if it persists, look for a hung podium process",
                    ) from None
                raise StateError(f"state database {self.path}: {exc}") from None
            except sqlite3.Error as exc:
                raise self._state_error(exc) from None
            finally:
                self._checkin(db)

    def _state_error(self, exc: sqlite3.Error) -> StateError:
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

    def _grouped(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run the write ``op`` in a transaction shared with concurrent writers (group commit).

        The engine writes an intent before and an outcome after every node, from
        many threads at once. A commit costs far more than the statements in it,
        so one writer at a time leads: it commits every queued write in one
        transaction and wakes each writer on its own event (waking them through a
        shared mutex would hand the GIL from one sleeper to the next in a convoy).
        Then it hands the lead to the first write queued meanwhile, so no caller
        commits for others for long. Each ``op`` runs in its own savepoint: one that
        fails is rolled back alone and its caller gets the error. A caller returns
        only after the commit holding its write, so durability is unchanged.
        """
        item = _QueuedWrite(op)
        with self._queue_lock:
            self._queue.append(item)
            lead = not self._leading
            self._leading = True
        if not lead:
            item.event.wait()
            lead = not item.done  # woken to take the lead, its write still queued
        if lead:
            with self._write_mutex:
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit_batch(batch)
            with self._queue_lock:
                if self._queue:
                    self._queue[0].event.set()  # the next leader
                else:
                    self._leading = False
        if item.error is not None:
            raise item.error
        return item.result  # type: ignore[no-any-return]

    def _commit_batch(self, batch: list[_QueuedWrite]) -> None:
        """Commit ``batch`` in one transaction; a failing write fails alone.

        The common case runs every write back to back with no savepoints (each
        statement is a GIL round trip under load, so fewer statements is what
        makes durable journaling cheap) and bumps the serial once. If any write
        raises, the transaction is rolled back and each write is retried in a
        transaction of its own, so only the faulty one reports an error.
        """
        try:
            if len(batch) == 1 or not self._run_batch(batch):
                for item in batch:
                    self._run_batch([item])
        finally:
            for item in batch:
                item.done = True
                item.event.set()

    def _run_batch(self, batch: list[_QueuedWrite]) -> bool:
        """One transaction for ``batch``; ``False`` (rolled back) if one of several writes failed."""
        db: sqlite3.Connection | None = None
        self._serial_dirty = False
        try:
            db = self._checkout()
            db.execute("BEGIN IMMEDIATE")
            self._batching = True
            for item in batch:
                try:
                    item.result = item.op(db)
                except BaseException as exc:
                    if len(batch) > 1 and isinstance(exc, Exception):
                        db.execute("ROLLBACK")
                        return False
                    raise
            if self._serial_dirty:
                db.execute("UPDATE meta SET value = value + 1 WHERE key = 'serial'")
            db.execute("COMMIT")
            return True
        except BaseException as exc:
            if db is not None and db.in_transaction:
                db.execute("ROLLBACK")
            error = self._state_error(exc) if isinstance(exc, sqlite3.Error) else exc
            for item in batch:
                item.result = None
                item.error = item.error or error
            if not isinstance(exc, Exception):
                raise
            return True
        finally:
            self._batching = False
            if db is not None:
                self._checkin(db)

    def _checkout(self) -> sqlite3.Connection:
        # A small pool: a connection per concurrent caller, reused across calls,
        # so engine threads read in parallel without a connection per thread ever made.
        with self._pool_lock:
            if self._closed:
                raise StateError(f"the state store for {self.where} is closed")
            if self._idle:
                return self._idle.pop()
        try:
            return self._connect(self._busy_timeout)
        except sqlite3.Error as exc:
            raise StateError(f"cannot open state database {self.path}: {exc}") from None

    def _checkin(self, db: sqlite3.Connection) -> None:
        with self._pool_lock:
            if not self._closed:
                self._idle.append(db)
                return
        db.close()

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    # --- version --------------------------------------------------------------
    def serial(self) -> int:
        with self._tx(write=False) as db:
            return int(db.execute("SELECT value FROM meta WHERE key = 'serial'").fetchone()[0])

    def _bump_serial(self, db: sqlite3.Connection) -> None:
        # Inside a group commit the serial moves once per transaction: it marks a
        # change of records, and one transaction is one change for readers.
        if self._batching:
            self._serial_dirty = True
        else:
            db.execute("UPDATE meta SET value = value + 1 WHERE key = 'serial'")

    # --- records --------------------------------------------------------------
    def records(self) -> list[ResourceRecord]:
        with self._tx(write=False) as db:
            rows = db.execute(f"SELECT {RECORD_COLUMNS} FROM records ORDER BY uid").fetchall()
        return [record_from_row(row) for row in rows]

    def put_record(self, record: ResourceRecord) -> None:
        row = record_row(record)
        with self._tx(write=True) as db:
            self._write_record(db, row)

    def delete_record(self, uid: str) -> None:
        with self._tx(write=True) as db:
            if db.execute("DELETE FROM records WHERE uid = ?", (uid,)).rowcount:
                self._bump_serial(db)

    def _write_record(self, db: sqlite3.Connection, row: tuple[Any, ...]) -> None:
        db.execute(
            f"INSERT OR REPLACE INTO records ({RECORD_COLUMNS}) VALUES ({_RECORD_VALUES})",
            row,
        )
        self._bump_serial(db)

    # --- intent journal -------------------------------------------------------
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        """Close ``outcomes`` and insert ``intents`` in one transaction (all or none)."""
        if not outcomes and not intents:
            return []
        now = now_iso()
        # Serialise before taking the lock: JSON work needs no transaction.
        closing = [
            (
                o.intent_id,
                record_row(o.record) if o.record is not None else None,
                o.delete_uid,
            )
            for o in outcomes
        ]
        opening = [
            (i.node, i.action, dumps(i.spec), i.run_id, i.started_at or now) for i in intents
        ]

        def write(db: sqlite3.Connection) -> list[int]:
            if closing:
                self._close_intents(db, closing, now)
            ids = []
            for row in opening:
                cursor = db.execute(
                    "INSERT INTO intents (node, action, spec, run_id, started_at) "
                    "VALUES (?,?,?,?,?)",
                    row,
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
            return ids

        return self._grouped(write)

    def _close_intents(
        self,
        db: sqlite3.Connection,
        closing: list[tuple[int, tuple[Any, ...] | None, str | None]],
        now: str,
    ) -> None:
        closed = db.executemany(
            "UPDATE intents SET completed_at = ? WHERE id = ? AND completed_at IS NULL",
            [(now, intent_id) for intent_id, _, _ in closing],
        ).rowcount
        if closed != len(closing):  # rare: find which, for the message
            closed_now = "SELECT 1 FROM intents WHERE id = ? AND completed_at = ?"
            missing = [i for i, _, _ in closing if not db.execute(closed_now, (i, now)).fetchone()]
            names = ", ".join(str(i) for i in missing)
            raise StateError(f"intent {names} is not pending in {self.where}")
        rows = [row for _, row, _ in closing if row is not None]
        if rows:
            db.executemany(
                f"INSERT OR REPLACE INTO records ({RECORD_COLUMNS}) VALUES ({_RECORD_VALUES})",
                rows,
            )
            self._bump_serial(db)
        deleted = [(uid,) for _, _, uid in closing if uid is not None]
        if deleted and db.executemany("DELETE FROM records WHERE uid = ?", deleted).rowcount:
            self._bump_serial(db)

    def pending_intents(self) -> list[Intent]:
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT id, node, action, spec, run_id, started_at FROM intents "
                "WHERE completed_at IS NULL ORDER BY id"
            ).fetchall()
        return [
            Intent(node=node, action=action, spec=json.loads(spec), run_id=run, id=i, started_at=at)
            for i, node, action, spec, run, at in rows
        ]

    def _prune_intents(self, db: sqlite3.Connection) -> None:
        # The journal only matters while an intent is pending; history is the audit
        # trail. Completed intents are kept a while for debugging, then dropped.
        cutoff = (datetime.now(UTC) - self._retention).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        db.execute(
            "DELETE FROM intents WHERE completed_at IS NOT NULL AND completed_at < ?", (cutoff,)
        )

    # --- generated values -----------------------------------------------------
    def get_generated(self, node: str, key: str) -> str | None:
        with self._tx(write=False) as db:
            row = db.execute(
                "SELECT token FROM generated WHERE node = ? AND key = ?", (node, key)
            ).fetchone()
        return None if row is None else str(row[0])

    def put_generated(self, node: str, key: str, token: str) -> None:
        with self._tx(write=True) as db:
            db.execute(
                "INSERT OR REPLACE INTO generated (node, key, token) VALUES (?,?,?)",
                (node, key, token),
            )

    def forget_generated(self, node: str) -> None:
        with self._tx(write=True) as db:
            db.execute("DELETE FROM generated WHERE node = ?", (node,))

    # --- lease lock -----------------------------------------------------------
    def acquire_lock(self, info: LockInfo) -> LockInfo | None:
        with self._tx(write=True) as db:
            held = self._read_lock(db)
            taken_over: LockInfo | None = None
            if held is not None and held.run_id != info.run_id:
                if takeover_reason(held) is None:
                    raise locked_error(held, self.where)
                taken_over = held
            db.execute(
                "INSERT OR REPLACE INTO lock "
                "(id, owner, host, pid, run_id, operation, acquired_at, expires_at) "
                "VALUES (1,?,?,?,?,?,?,?)",
                (
                    info.owner,
                    info.host,
                    info.pid,
                    info.run_id,
                    info.operation,
                    info.acquired_at,
                    info.expires_at,
                ),
            )
            self._prune_intents(db)
        return taken_over

    def renew_lock(self, run_id: str, expires_at: float) -> None:
        with self._tx(write=True) as db:
            if db.execute(
                "UPDATE lock SET expires_at = ? WHERE run_id = ?", (expires_at, run_id)
            ).rowcount:
                return
            held = self._read_lock(db)
        if held is None:
            raise StateError(f"run {run_id} lost its lock on {self.where}: the lock was removed")
        raise StateError(
            f"run {run_id} lost its lock on {self.where}: it is now held by {held.owner} "
            f"(host {held.host}, pid {held.pid}, run {held.run_id})"
        )

    def release_lock(self, run_id: str) -> None:
        with self._tx(write=True) as db:
            db.execute("DELETE FROM lock WHERE run_id = ?", (run_id,))

    def lock_info(self) -> LockInfo | None:
        with self._tx(write=False) as db:
            return self._read_lock(db)

    def force_unlock(self) -> LockInfo | None:
        with self._tx(write=True) as db:
            held = self._read_lock(db)
            db.execute("DELETE FROM lock")
        return held

    @staticmethod
    def _read_lock(db: sqlite3.Connection) -> LockInfo | None:
        row = db.execute(
            "SELECT owner, host, pid, run_id, acquired_at, expires_at, operation FROM lock"
        ).fetchone()
        if row is None:
            return None
        owner, host, pid, run_id, acquired_at, expires_at, operation = row
        return LockInfo(owner, host, int(pid), run_id, acquired_at, expires_at, operation)

    # --- history and releases -------------------------------------------------
    def add_history(self, entry: dict[str, Any]) -> int:
        data = dumps(without(entry, "id"))
        with self._tx(write=True) as db:
            cursor = db.execute("INSERT INTO history (data) VALUES (?)", (data,))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def update_history(self, entry_id: int, entry: dict[str, Any]) -> None:
        data = dumps(without(entry, "id"))
        with self._tx(write=True) as db:
            if not db.execute(
                "UPDATE history SET data = ? WHERE id = ?", (data, entry_id)
            ).rowcount:
                raise NotFoundError(f"no history entry {entry_id} in {self.where}")

    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT id, data FROM history ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [{**json.loads(data), "id": entry_id} for entry_id, data in rows]

    def add_release(self, workload: str, data: dict[str, Any]) -> int:
        payload = dumps(without(data, "number"))
        with self._tx(write=True) as db:
            number = int(
                db.execute(
                    "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE workload = ?",
                    (workload,),
                ).fetchone()[0]
            )
            db.execute(
                "INSERT INTO releases (workload, number, data) VALUES (?,?,?)",
                (workload, number, payload),
            )
        return number

    def releases(self, workload: str) -> list[dict[str, Any]]:
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT number, data FROM releases WHERE workload = ? ORDER BY number",
                (workload,),
            ).fetchall()
        return [{**json.loads(data), "number": number} for number, data in rows]


class _QueuedWrite:
    """One write waiting for a group commit, and its outcome."""

    __slots__ = ("done", "error", "event", "op", "result")

    def __init__(self, op: Callable[[sqlite3.Connection], Any]) -> None:
        self.op = op
        self.done = False
        self.event = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


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

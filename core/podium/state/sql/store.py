"""The state store every SQL backend shares; a :class:`SqlDialect` supplies what differs.

* A small connection pool (a connection per concurrent caller, reused) rather
  than one connection behind a lock: readers run in parallel and no thread
  ever waits for another's read.
* Every method is one transaction. Writes that read before they write (the
  lease, release numbers) call :meth:`SqlDialect.lock_scope` first, so of two
  processes racing exactly one wins and the other sees the winner.
* With :attr:`SqlDialect.group_commit`, writers in this process queue on a mutex
  and concurrent journal writes share one commit (see ``group_commit``).
* JSON is stored as text, byte for byte what :mod:`podium.state.rows` encodes;
  an unsealed Secret is refused before any transaction starts.

Fencing: each lease gets an epoch from the environment's ``epoch`` row, one
above every earlier lease. :meth:`SqlStateStore.fenced` gives the run holding a
lease a view of the store whose every write reads that row first, inside the
write's own transaction, and is refused (:class:`~podium.errors.LeaseLostError`)
if a later lease exists. Every write goes through :meth:`SqlStateStore._tx` or the
journal's group commit, so the check sits in those two places only.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from podium.errors import LeaseLostError, NotFoundError, StateError
from podium.platform.contract import (
    Intent,
    IntentOutcome,
    LockInfo,
    ResourceRecord,
    TransactionalStateStore,
)
from podium.state.audit_chain import APPENDED, AUDIT_COLUMNS, AuditHead, AuditRecord, make_record
from podium.state.audit_chain import record_from_row as audit_record_from_row
from podium.state.lease import lease_lost_error, locked_error, takeover_reason
from podium.state.rows import (
    RECORD_COLUMNS,
    RECORD_COLUMNS_WITH_BOOKKEEPING,
    dumps,
    now_iso,
    record_from_row,
    record_row,
    without,
)
from podium.state.sql.dialect import TABLES, Connection, SqlDialect
from podium.state.sql.group_commit import GroupCommit, QueuedWrite
from podium.state.sql.reconnect import reconnecting

T = TypeVar("T")

_INTENT_COLUMNS = ("node", "action", "spec", "run_id", "started_at")
_LOCK_COLUMNS = (
    "owner",
    "host",
    "pid",
    "run_id",
    "acquired_at",
    "expires_at",
    "operation",
    "epoch",
    "boot_id",
    "pid_namespace",
)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_DOING = "cannot read or write the state"


class _Statements:
    """Every statement of the store, written once per store from the dialect's layout."""

    def __init__(self, d: SqlDialect) -> None:
        p = d.param

        def where(table: str, *conditions: str) -> str:
            terms = [f"{c} = {p}" for c in d.scope(table).columns] + list(conditions)
            return f" WHERE {' AND '.join(terms)}" if terms else ""

        def keyed(table: str, *columns: str) -> tuple[str, ...]:
            return (*d.scope(table).columns, *columns)

        records, intents, generated = d.table("records"), d.table("intents"), d.table("generated")
        lock, history, releases = d.table("lock"), d.table("history"), d.table("releases")
        serial, col = d.table("serial"), d.serial_column
        epoch, ecol = d.table("epoch"), d.epoch_column
        lock_columns = ", ".join(_LOCK_COLUMNS)

        self.serial = f"SELECT {col} FROM {serial}{where('serial')}"
        self.bump_serial = f"UPDATE {serial} SET {col} = {col} + 1{where('serial')}"
        self.epoch = f"SELECT {ecol} FROM {epoch}{where('epoch')}"
        self.fence = self.epoch + d.fence_lock
        self.bump_epoch = f"UPDATE {epoch} SET {ecol} = {ecol} + 1{where('epoch')}"

        layout = RECORD_COLUMNS_WITH_BOOKKEEPING if d.bookkeeping_column else RECORD_COLUMNS
        self.records = f"SELECT {layout} FROM {records}{where('records')} ORDER BY uid"
        self.put_record = d.upsert(
            records,
            keyed("records", *(c.strip() for c in layout.split(","))),
            keyed("records", "uid"),
        )
        self.delete_record = f"DELETE FROM {records}{where('records', f'uid = {p}')}"

        self.intents_table = intents
        self.intent_columns = keyed("intents", *_INTENT_COLUMNS)
        self.close_intent = (
            f"UPDATE {intents} SET completed_at = {p}"
            f"{where('intents', f'id = {p}', 'completed_at IS NULL')}"
        )
        self.closed_now = (
            f"SELECT 1 FROM {intents}{where('intents', f'id = {p}', f'completed_at = {p}')}"
        )
        self.pending = (
            f"SELECT id, {', '.join(_INTENT_COLUMNS)} FROM {intents}"
            f"{where('intents', 'completed_at IS NULL')} ORDER BY id"
        )
        self.prune = (
            f"DELETE FROM {intents}"
            f"{where('intents', 'completed_at IS NOT NULL', f'completed_at < {p}')}"
        )

        self.get_generated = (
            f"SELECT token FROM {generated}{where('generated', f'node = {p}', f'key = {p}')}"
        )
        self.put_generated = d.upsert(
            generated, keyed("generated", "node", "key", "token"), keyed("generated", "node", "key")
        )
        self.forget_generated = f"DELETE FROM {generated}{where('generated', f'node = {p}')}"

        self.read_lock = f"SELECT {lock_columns} FROM {lock}{where('lock')}"
        self.put_lock = d.upsert(lock, keyed("lock", *_LOCK_COLUMNS), keyed("lock"))
        self.renew_lock = f"UPDATE {lock} SET expires_at = {p}{where('lock', f'run_id = {p}')}"
        self.release_lock = f"DELETE FROM {lock}{where('lock', f'run_id = {p}')}"
        self.force_unlock = f"DELETE FROM {lock}{where('lock')}"

        # History is the append-only audit chain (podium.state.audit_chain): an entry is
        # shown as its latest record, the one no later record of the same entry follows.
        head = d.table("audit_head")
        audit_columns = ", ".join(AUDIT_COLUMNS)
        self.history_table = history
        columns = keyed("history", *AUDIT_COLUMNS)
        self.append_audit = (
            f"INSERT INTO {history} ({', '.join(columns)}) VALUES ({', '.join([p] * len(columns))})"
        )
        self.audit_head = f"SELECT audit_seq, audit_hash FROM {head}{where('audit_head')}"
        self.set_audit_head = (
            f"UPDATE {head} SET audit_seq = {p}, audit_hash = {p}{where('audit_head')}"
        )
        self.history_entry = (
            f"SELECT 1 FROM {history}{where('history', f'id = {p}', 'entry_id = id')}"
        )
        # (unqualified scope columns resolve to the innermost table: n inside, h outside)
        later = f"SELECT 1 FROM {history} n" + where(
            "history", "n.entry_id = h.entry_id", "n.seq > h.seq"
        )
        self.history = (
            f"SELECT h.entry_id, h.data FROM {history} h"
            f"{where('history', f'NOT EXISTS ({later})')} ORDER BY h.entry_id DESC LIMIT {p}"
        )
        self.audit_records = (
            f"SELECT {audit_columns} FROM {history}"
            f"{where('history', f'seq > {p}')} ORDER BY seq LIMIT {p}"
        )
        # A dialect without the chain (written before it): one mutable row per entry.
        self.plain_history_columns = keyed("history", "data")
        self.plain_update_history = (
            f"UPDATE {history} SET data = {p}{where('history', f'id = {p}')}"
        )
        self.plain_history = (
            f"SELECT id, data FROM {history}{where('history')} ORDER BY id DESC LIMIT {p}"
        )

        self.next_release = (
            f"SELECT COALESCE(MAX(number), 0) + 1 FROM {releases}"
            f"{where('releases', f'workload = {p}')}"
        )
        columns = keyed("releases", "workload", "number", "data")
        marks = ", ".join([p] * len(columns))
        self.add_release = f"INSERT INTO {releases} ({', '.join(columns)}) VALUES ({marks})"
        self.releases = (
            f"SELECT number, data FROM {releases}"
            f"{where('releases', f'workload = {p}')} ORDER BY number"
        )


class SqlStateStore(TransactionalStateStore):
    """State of one platform environment in a SQL database, through ``dialect``."""

    def __init__(self, dialect: SqlDialect, *, intent_retention_days: float = 30.0) -> None:
        self.dialect = dialect
        #: history kept as the hash-chained audit trail (see ``SqlDialect.audit_chain``)
        self.audit_chained = dialect.audit_chain
        self.where = dialect.where
        self._sql = _Statements(dialect)
        self._scope = {name: dialect.scope(name).values for name in TABLES}
        self._retention = timedelta(days=intent_retention_days)
        self._pool_lock = threading.Lock()
        self._idle: list[Connection] = []
        #: mutable state shared with the fenced views of this store (see ``fenced``)
        self._shared = _Shared()
        #: the lease epoch every write of this view is checked against; None: unfenced
        self._epoch: int | None = None
        # Writers in this process queue on a mutex rather than in the database's
        # busy handler, whose sleeps grow to 100 ms (SQLite: measured with 8
        # threads, the slowest write took 13 ms with the mutex and 300-500 ms without).
        self._write_mutex: threading.Lock | None = (
            threading.Lock() if dialect.group_commit else None
        )
        self._group = (
            GroupCommit(self._write_mutex, self._commit_batch)
            if self._write_mutex is not None
            else None
        )
        try:
            self._idle.append(dialect.open())
        except BaseException:
            self.close()
            raise

    # --- the pool -------------------------------------------------------------
    def _checkout(self) -> Connection:
        # A connection per concurrent caller, reused across calls, so engine
        # threads read in parallel without a connection per thread ever made.
        dead: list[Connection] = []
        try:
            with self._pool_lock:
                if self._shared.closed:
                    raise StateError(f"the state store for {self.where} is closed")
                while self._idle:
                    db = self._idle.pop()
                    if self.dialect.reusable(db):  # not died while idle (server restart)
                        return db
                    dead.append(db)
        finally:
            for db in dead:
                db.close()
        return self.dialect.connect()

    def _checkin(self, db: Connection) -> None:
        with self._pool_lock:
            if not self._shared.closed and self.dialect.reusable(db):
                self._idle.append(db)
                return
        db.close()

    def close(self) -> None:
        if self._epoch is not None:
            return  # a fenced view: the store it came from owns the connections
        with self._pool_lock:
            self._shared.closed = True
            idle, self._idle[:] = list(self._idle), []
        for db in idle:
            db.close()

    # --- fencing --------------------------------------------------------------
    def fenced(self, epoch: int) -> SqlStateStore:
        """This store for the run holding the lease of ``epoch``: its writes are fenced.

        A shallow copy: it shares the pool, the write mutex and the group commit
        (whose batches may then mix fenced and unfenced writes; each fenced write
        carries its own check).
        """
        view = copy.copy(self)
        view._epoch = epoch
        return view

    def _check_fence(self, db: Connection, epoch: int) -> None:
        row = self._execute(db, self._sql.fence, self._scope["epoch"]).fetchone()
        current = 0 if row is None else int(row[0])
        if current > epoch:
            raise lease_lost_error(self.where, epoch, current)

    def _with_fence(self, op: Callable[[Connection], T]) -> Callable[[Connection], T]:
        epoch = self._epoch
        if epoch is None:
            return op

        def fenced_op(db: Connection) -> T:
            self._check_fence(db, epoch)
            return op(db)

        return fenced_op

    # --- transactions ---------------------------------------------------------
    @contextmanager
    def _tx(self, write: bool, *, fence_first: bool = True) -> Iterator[Connection]:
        """One transaction; driver errors become StateErrors (the dialect words them).

        A write of a fenced view checks the fence first, unless ``fence_first`` is
        False: then the caller checks it after locking the scope (``lock_scope``),
        since taking the fence's shared lock first and the scope's exclusive lock
        second could deadlock two such writers on PostgreSQL.
        """
        mutex = self._write_mutex if write and self._write_mutex is not None else nullcontext()
        with mutex:
            db = self._checkout()
            try:
                with self.dialect.transaction(db, write):
                    if write and fence_first and self._epoch is not None:
                        self._check_fence(db, self._epoch)
                    yield db
            except self.dialect.errors as exc:
                raise self.dialect.error(exc, _DOING) from None
            finally:
                self._checkin(db)

    def _read(self) -> AbstractContextManager[Connection]:
        return self._tx(write=False)

    def _write(self) -> AbstractContextManager[Connection]:
        return self._tx(write=True)

    def _grouped(self, op: Callable[[Connection], T]) -> T:
        """Run the write ``op``: in a group commit if the dialect asks, else on its own."""
        if self._group is not None:
            return self._group.run(self._with_fence(op))
        with self._write() as db:
            return op(db)

    def _commit_batch(self, batch: list[QueuedWrite]) -> None:
        """Commit ``batch`` in one transaction; a failing write fails alone.

        The common case runs every write back to back with no savepoints (each
        statement is a GIL round trip under load, so fewer statements is what
        makes durable journaling cheap) and bumps the serial once. If any write
        raises, the transaction is rolled back and each write is retried in a
        transaction of its own, so only the faulty one reports an error.
        """
        if len(batch) == 1 or not self._run_batch(batch):
            for item in batch:
                self._run_batch([item])

    def _run_batch(self, batch: list[QueuedWrite]) -> bool:
        """One transaction for ``batch``; ``False`` (rolled back) if one of several writes failed."""
        db: Connection | None = None
        shared = self._shared
        shared.serial_dirty = False
        try:
            db = self._checkout()
            with self.dialect.transaction(db, write=True):
                shared.batching = True
                for item in batch:
                    try:
                        item.result = item.op(db)
                    except Exception:
                        if len(batch) > 1:
                            raise _OneFailed from None
                        raise
                if shared.serial_dirty:
                    self._execute(db, self._sql.bump_serial, self._scope["serial"])
            return True
        except _OneFailed:
            return False
        except BaseException as exc:
            error = self.dialect.error(exc, _DOING) if isinstance(exc, self.dialect.errors) else exc
            for item in batch:
                item.result = None
                item.error = item.error or error
            if not isinstance(exc, Exception):
                raise
            return True
        finally:
            shared.batching = False
            if db is not None:
                self._checkin(db)

    @staticmethod
    def _execute(db: Connection, sql: str, params: Sequence[Any] = ()) -> Any:
        return db.execute(sql, params)

    # --- version --------------------------------------------------------------
    @reconnecting
    def serial(self) -> int:
        with self._read() as db:
            row = self._execute(db, self._sql.serial, self._scope["serial"]).fetchone()
        return 0 if row is None else int(row[0])

    def _bump_serial(self, db: Connection) -> None:
        # Inside a group commit the serial moves once per transaction: it marks a
        # change of records, and one transaction is one change for readers.
        if self._shared.batching:
            self._shared.serial_dirty = True
        else:
            self._execute(db, self._sql.bump_serial, self._scope["serial"])

    # --- records --------------------------------------------------------------
    def _record_row(self, record: ResourceRecord) -> tuple[Any, ...]:
        return record_row(record, bookkeeping_column=self.dialect.bookkeeping_column)

    @reconnecting
    def records(self) -> list[ResourceRecord]:
        with self._read() as db:
            # Row by row, not fetchall(): each row's text is read while it is fresh in the
            # caches and freed before the next row, so thousands of rows are never all
            # held at once beside their records (8 % faster at 20,000 records).
            cursor = self._execute(db, self._sql.records, self._scope["records"])
            return [record_from_row(row) for row in cursor]

    @reconnecting
    def put_record(self, record: ResourceRecord) -> None:
        row = (*self._scope["records"], *self._record_row(record))  # refuses Secrets before the tx
        with self._write() as db:
            self._execute(db, self._sql.put_record, row)
            self._bump_serial(db)

    @reconnecting
    def delete_record(self, uid: str) -> None:
        with self._write() as db:
            if self._execute(db, self._sql.delete_record, (*self._scope["records"], uid)).rowcount:
                self._bump_serial(db)

    # --- intent journal -------------------------------------------------------
    def journal(self, outcomes: Sequence[IntentOutcome], intents: Sequence[Intent]) -> list[int]:
        """Close ``outcomes`` and insert ``intents`` in one transaction (all or none)."""
        if not outcomes and not intents:
            return []
        now = now_iso()
        # Serialise before taking the lock: JSON work needs no transaction.
        scope, intent_scope = self._scope["records"], self._scope["intents"]
        closing = [o.intent_id for o in outcomes]
        records = [(*scope, *self._record_row(o.record)) for o in outcomes if o.record is not None]
        deletes = [(*scope, o.delete_uid) for o in outcomes if o.delete_uid is not None]
        opening = [
            (*intent_scope, i.node, i.action, dumps(i.spec), i.run_id, i.started_at or now)
            for i in intents
        ]

        def write(db: Connection) -> list[int]:
            if closing:
                self._close_intents(db, closing, now)
            changed = False
            if records:
                self.dialect.executemany(db, self._sql.put_record, records)
                changed = True
            if deletes and self.dialect.executemany(db, self._sql.delete_record, deletes):
                changed = True
            if changed:
                self._bump_serial(db)  # once: one transaction is one change for readers
            if not opening:
                return []
            return self.dialect.insert_returning_ids(
                db, self._sql.intents_table, self._sql.intent_columns, opening
            )

        return self._grouped(write)

    def _close_intents(self, db: Connection, closing: list[int], now: str) -> None:
        scope = self._scope["intents"]
        closed = self.dialect.executemany(
            db, self._sql.close_intent, [(now, *scope, intent_id) for intent_id in closing]
        )
        if closed != len(closing):  # rare: find which, for the message
            missing = [
                i
                for i in closing
                if not self._execute(db, self._sql.closed_now, (*scope, i, now)).fetchone()
            ]
            names = ", ".join(str(i) for i in missing)
            raise StateError(f"intent {names} is not pending in {self.where}")

    @reconnecting
    def pending_intents(self) -> list[Intent]:
        with self._read() as db:
            rows = self._execute(db, self._sql.pending, self._scope["intents"]).fetchall()
        return [
            Intent(
                node=node,
                action=action,
                spec=json.loads(spec),
                run_id=run,
                id=int(i),
                started_at=at,
            )
            for i, node, action, spec, run, at in rows
        ]

    def _prune_intents(self, db: Connection) -> None:
        # The journal only matters while an intent is pending; history is the audit
        # trail. Completed intents are kept a while for debugging, then dropped.
        cutoff = (datetime.now(UTC) - self._retention).strftime(_TIME_FORMAT)
        self._execute(db, self._sql.prune, (*self._scope["intents"], cutoff))

    # --- generated values -----------------------------------------------------
    @reconnecting
    def get_generated(self, node: str, key: str) -> str | None:
        with self._read() as db:
            row = self._execute(
                db, self._sql.get_generated, (*self._scope["generated"], node, key)
            ).fetchone()
        return None if row is None else str(row[0])

    @reconnecting
    def put_generated(self, node: str, key: str, token: str) -> None:
        with self._write() as db:
            self._execute(
                db, self._sql.put_generated, (*self._scope["generated"], node, key, token)
            )

    @reconnecting
    def forget_generated(self, node: str) -> None:
        with self._write() as db:
            self._execute(db, self._sql.forget_generated, (*self._scope["generated"], node))

    # --- lease lock -----------------------------------------------------------
    @reconnecting
    def acquire_lock(self, info: LockInfo) -> LockInfo | None:
        with self._tx(write=True, fence_first=False) as db:
            self.dialect.lock_scope(db)
            held = self._read_lock(db)
            taken_over: LockInfo | None = None
            if held is not None and held.run_id != info.run_id:
                if takeover_reason(held) is None:
                    raise locked_error(held, self.where)
                taken_over = held
            if held is not None and held.run_id == info.run_id:
                epoch = held.epoch  # the same run again keeps its epoch
            else:
                epoch = self._next_epoch(db)
            lease = (*self._scope["lock"], info.owner, info.host, info.pid, info.run_id)
            self._execute(
                db,
                self._sql.put_lock,
                (
                    *lease,
                    info.acquired_at,
                    info.expires_at,
                    info.operation,
                    epoch,
                    info.boot_id,
                    info.pid_namespace,
                ),
            )
            self._prune_intents(db)
        return taken_over

    def _next_epoch(self, db: Connection) -> int:
        """Move the environment's epoch on (under ``lock_scope``); the new value."""
        self._execute(db, self._sql.bump_epoch, self._scope["epoch"])
        row = self._execute(db, self._sql.epoch, self._scope["epoch"]).fetchone()
        if row is None:
            raise StateError(f"the state of {self.where} has no fencing epoch row")
        return int(row[0])

    @reconnecting
    def renew_lock(self, run_id: str, expires_at: float) -> None:
        with self._write() as db:
            renewed = self._execute(
                db, self._sql.renew_lock, (expires_at, *self._scope["lock"], run_id)
            ).rowcount
            if renewed:
                return
            held = self._read_lock(db)
        if held is None:
            raise LeaseLostError(
                f"run {run_id} lost its lock on {self.where}: the lock was removed"
            )
        raise LeaseLostError(
            f"run {run_id} lost its lock on {self.where}: it is now held by {held.owner} "
            f"(host {held.host}, pid {held.pid}, run {held.run_id})"
        )

    @reconnecting
    def release_lock(self, run_id: str) -> None:
        with self._write() as db:
            self._execute(db, self._sql.release_lock, (*self._scope["lock"], run_id))

    @reconnecting
    def lock_info(self) -> LockInfo | None:
        with self._read() as db:
            return self._read_lock(db)

    @reconnecting
    def force_unlock(self) -> LockInfo | None:
        with self._tx(write=True, fence_first=False) as db:
            self.dialect.lock_scope(db)
            held = self._read_lock(db)
            self._execute(db, self._sql.force_unlock, self._scope["lock"])
            if held is not None:
                self._next_epoch(db)  # fence the removed holder out, should it still run
        return held

    def _read_lock(self, db: Connection) -> LockInfo | None:
        row = self._execute(db, self._sql.read_lock, self._scope["lock"]).fetchone()
        if row is None:
            return None
        owner, host, pid, run_id, acquired_at, expires_at, operation, epoch, boot, ns = row
        return LockInfo(
            owner,
            host,
            int(pid),
            run_id,
            float(acquired_at),
            float(expires_at),
            operation,
            int(epoch),
            boot,
            ns,
        )

    # --- history and releases -------------------------------------------------
    def add_history(self, entry: dict[str, Any]) -> int:
        data = dumps(without(entry, "id"))
        if not self.audit_chained:
            with self._write() as db:
                return self.dialect.insert_returning_id(
                    db,
                    self._sql.history_table,
                    self._sql.plain_history_columns,
                    (*self._scope["history"], data),
                )
        with self._appending() as db:
            return self._append_audit(db, None, data)

    @reconnecting
    def update_history(self, entry_id: int, entry: dict[str, Any]) -> None:
        """Append ``entry`` as the outcome of entry ``entry_id``: history is append-only
        (a dialect without the chain replaces the entry's row).

        Retried after a lost connection: if the first attempt had committed, the outcome
        is recorded twice, identically, which ``history`` shows once; losing a run's end
        would be worse."""
        data = dumps(without(entry, "id"))
        if not self.audit_chained:
            with self._write() as db:
                params = (data, *self._scope["history"], entry_id)
                if not self._execute(db, self._sql.plain_update_history, params).rowcount:
                    raise NotFoundError(f"no history entry {entry_id} in {self.where}")
            return
        with self._appending() as db:
            params = (*self._scope["history"], entry_id)
            if self._execute(db, self._sql.history_entry, params).fetchone() is None:
                raise NotFoundError(f"no history entry {entry_id} in {self.where}")
            self._append_audit(db, entry_id, data)

    @contextmanager
    def _appending(self) -> Iterator[Connection]:
        """A write that extends the audit chain: serialised with every other append of
        this environment (``lock_scope``), so two writers never chain onto one head."""
        with self._tx(write=True, fence_first=False) as db:
            self.dialect.lock_scope(db)
            if self._epoch is not None:
                self._check_fence(db, self._epoch)
            yield db

    def _append_audit(self, db: Connection, entry_id: int | None, data: str) -> int:
        head = self._execute(db, self._sql.audit_head, self._scope["audit_head"]).fetchone()
        if head is None:
            raise StateError(
                f"the audit trail of {self.where} has lost its head: nothing more is recorded",
                hint="run 'podium audit verify'; the history may have been tampered with",
            )
        row_id = self.dialect.next_id(db, self._sql.history_table)
        record = make_record(
            seq=int(head[0]) + 1,
            id=row_id,
            entry_id=row_id if entry_id is None else entry_id,
            origin=APPENDED,
            data=data,
            recorded_at=now_iso(),
            prev_hash=str(head[1]),
        )
        values = [getattr(record, column) for column in AUDIT_COLUMNS]
        self._execute(db, self._sql.append_audit, (*self._scope["history"], *values))
        self._execute(
            db, self._sql.set_audit_head, (record.seq, record.hash, *self._scope["audit_head"])
        )
        return row_id

    @reconnecting
    def history(self, limit: int = 50) -> list[dict[str, Any]]:
        scope = self._scope["history"]
        with self._read() as db:
            if not self.audit_chained:
                rows = self._execute(db, self._sql.plain_history, (*scope, limit)).fetchall()
            else:
                rows = self._execute(db, self._sql.history, (*scope, *scope, limit)).fetchall()
        return [{**json.loads(data), "id": int(entry_id)} for entry_id, data in rows]

    # --- the audit chain ------------------------------------------------------
    @reconnecting
    def audit_head(self) -> AuditHead | None:
        if not self.audit_chained:
            return None
        with self._read() as db:
            row = self._execute(db, self._sql.audit_head, self._scope["audit_head"]).fetchone()
        return None if row is None else AuditHead(int(row[0]), str(row[1]))

    @reconnecting
    def audit_records(self, after: int = 0, limit: int = 500) -> list[AuditRecord]:
        if not self.audit_chained:
            return []
        with self._read() as db:
            rows = self._execute(
                db, self._sql.audit_records, (*self._scope["history"], after, limit)
            ).fetchall()
        return [audit_record_from_row(row) for row in rows]

    def add_release(self, workload: str, data: dict[str, Any]) -> int:
        payload = dumps(without(data, "number"))
        scope = self._scope["releases"]
        with self._tx(write=True, fence_first=False) as db:
            self.dialect.lock_scope(db)  # two processes must not both take number N
            if self._epoch is not None:
                self._check_fence(db, self._epoch)
            row = self._execute(db, self._sql.next_release, (*scope, workload)).fetchone()
            number = int(row[0])
            self._execute(db, self._sql.add_release, (*scope, workload, number, payload))
        return number

    @reconnecting
    def releases(self, workload: str) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = self._execute(
                db, self._sql.releases, (*self._scope["releases"], workload)
            ).fetchall()
        return [{**json.loads(data), "number": int(number)} for number, data in rows]

    # --- rekey ----------------------------------------------------------------
    @reconnecting
    def reseal(self, reseal: Callable[[str], str]) -> int:
        """Re-seal every secret of this environment's state, in one transaction."""
        from podium.state.sql.reseal import reseal_rows

        with self._write() as db:
            changed, records_changed = reseal_rows(self.dialect, db, reseal)
            if records_changed:
                self._bump_serial(db)  # a saved plan made before must be made again
        return changed


class _OneFailed(Exception):
    """One write of a multi-write batch failed: roll back and retry each alone."""


class _Shared:
    """What a store and its fenced views change together."""

    __slots__ = ("batching", "closed", "serial_dirty")

    def __init__(self) -> None:
        self.closed = False
        self.batching = False  # inside _run_batch (under the write mutex)
        self.serial_dirty = False

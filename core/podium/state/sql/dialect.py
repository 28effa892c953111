"""What one SQL database does differently: the small interface a SQL state backend implements.

:class:`~podium.state.sql.SqlStateStore` holds everything the SQLite and
PostgreSQL backends share (the connection pool, transactions, serial bumps, the
lease, the intent journal, history, releases, generated values). A dialect
supplies only what differs between databases: how to connect and migrate, the
parameter marker, where each logical table lives and which rows of it belong to
this store (its :class:`Scope`), how a write transaction serialises with other
writers, the upsert syntax, how an insert reports its new id, and how a driver
error reads as a :class:`~podium.errors.StateError`.

Connections are plain DB-API 2 connections (``sqlite3``, ``psycopg``): the store
calls ``execute``, ``cursor().executemany``, ``fetchone``/``fetchall`` and ``rowcount``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ClassVar

from podium.errors import StateError

#: A DB-API 2 connection of the dialect's driver (``sqlite3.Connection``, ``psycopg.Connection``).
Connection = Any

#: The logical tables of the state layer; a dialect maps each to its physical name.
#: ``epoch`` holds the environment's fencing epoch (one row, like ``serial``), ``audit_head``
#: the head of its audit chain (one row with ``audit_seq`` and ``audit_hash`` columns).
TABLES = (
    "records",
    "intents",
    "generated",
    "lock",
    "history",
    "releases",
    "serial",
    "epoch",
    "audit_head",
)


@dataclass(frozen=True)
class Scope:
    """The key columns (and their values) that pick this store's rows out of a table.

    Empty for a database per environment (SQLite); ``("platform", "environment")``
    when many environments share tables (PostgreSQL). For the ``lock``, ``serial``
    and ``epoch`` tables the scope picks exactly one row: the environment's lease,
    its serial and its fencing epoch.
    """

    columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()


class SqlDialect(ABC):
    """The database-specific part of a SQL state backend (one instance per store)."""

    #: The DB-API parameter marker: ``"?"`` (qmark) or ``"%s"`` (format).
    param: ClassVar[str]
    #: Whether the store queues writers in this process on a mutex and commits
    #: concurrent journal writes together (group commit). Worth it when the
    #: database takes one writer at a time (SQLite); a server that runs writers
    #: in parallel (PostgreSQL) does better without.
    group_commit: ClassVar[bool] = False
    #: The column of the ``serial`` table that holds the serial.
    serial_column: ClassVar[str] = "serial"
    #: The column of the ``epoch`` table that holds the fencing epoch.
    epoch_column: ClassVar[str] = "epoch"
    #: Appended to the read of the epoch that checks a fenced write: it must keep a new
    #: lease from being granted until that write commits (PostgreSQL: ``FOR KEY SHARE``,
    #: which lets the run's own writers proceed in parallel). Empty where every write
    #: transaction is exclusive anyway (SQLite).
    fence_lock: ClassVar[str] = ""
    #: Whether ``history`` is the append-only, hash-chained audit trail
    #: (:mod:`podium.state.audit_chain`): the table has the chain's columns (``seq``,
    #: ``entry_id``, ``origin``, ``who``, ``what``, ``recorded_at``, ``plan_digest``,
    #: ``result``, ``decision``, ``prev_hash``, ``hash``, beside ``id`` and ``data``) and
    #: the ``audit_head`` table its head (``audit_seq``, ``audit_hash``). Default ``False``:
    #: a dialect written before keeps one mutable row per entry, unverifiable.
    audit_chain: ClassVar[bool] = False
    #: Whether the ``records`` table has a ``bookkeeping`` column (JSON text) for the
    #: engine's notes on each record; without one they are kept inside ``spec``.
    bookkeeping_column: ClassVar[bool] = False

    #: Where this state is, for messages (never a password).
    where: str

    # --- layout ---------------------------------------------------------------
    @abstractmethod
    def table(self, name: str) -> str:
        """The physical (quoted if need be) name of the logical table ``name`` (see ``TABLES``)."""

    def scope(self, table: str) -> Scope:
        """The rows of ``table`` that belong to this store (default: the whole table)."""
        return Scope()

    # --- connections and transactions -----------------------------------------
    @abstractmethod
    def open(self) -> Connection:
        """The first connection, with the schema migrated; raise :class:`StateError` if it fails."""

    @abstractmethod
    def connect(self) -> Connection:
        """One more connection for the pool; raise :class:`StateError` if it fails."""

    def reusable(self, db: Connection) -> bool:
        """Whether ``db`` may go back to the pool after use, or be taken from it (not broken).

        Checked again when an idle connection is taken from the pool, so one that
        died while idle (the server restarted) is dropped rather than used.
        """
        return True

    #: Seconds an idempotent state call keeps retrying after :class:`ConnectionLost`
    #: (see :mod:`podium.state.sql.reconnect`); 0 never retries.
    reconnect_timeout: float = 0.0

    @abstractmethod
    def transaction(self, db: Connection, write: bool) -> AbstractContextManager[object]:
        """One transaction on ``db``: committed when the block ends, rolled back if it raises.

        A write transaction that must wait for another writer should wait here
        (SQLite's ``BEGIN IMMEDIATE``), or in :meth:`lock_scope`.
        """

    def lock_scope(self, db: Connection) -> None:
        """Serialise the rest of this write transaction with every other that locks the scope.

        Called before read-then-write steps (taking the lease, numbering a
        release). A no-op where every write transaction is already exclusive.
        """
        return None

    # --- statements -----------------------------------------------------------
    @abstractmethod
    def upsert(self, table: str, columns: Sequence[str], keys: Sequence[str]) -> str:
        """An INSERT of ``columns`` into the physical ``table``, replacing the row with equal ``keys``."""

    @abstractmethod
    def insert_returning_id(
        self, db: Connection, table: str, columns: Sequence[str], row: Sequence[Any]
    ) -> int:
        """Insert ``row`` into the physical ``table`` (with an ``id`` column it fills); its id."""

    def insert_returning_ids(
        self, db: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> list[int]:
        """Insert ``rows`` in order; their ids in the same order."""
        return [self.insert_returning_id(db, table, columns, row) for row in rows]

    def next_id(self, db: Connection, table: str) -> int:
        """The id the next row of the physical ``table`` (an ``id`` column) should take.

        Called under :meth:`lock_scope`; an audit record's hash covers its id, so the
        id is drawn before the row is written. The default suits a table only this
        store writes: one above the largest id.
        """
        row = db.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}").fetchone()
        return int(row[0])

    def executemany(self, db: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run ``sql`` once per row; the number of rows it changed in all."""
        cursor = db.cursor()
        try:
            cursor.executemany(sql, rows)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    # --- errors ---------------------------------------------------------------
    #: The driver's exception classes the store turns into StateErrors.
    errors: tuple[type[BaseException], ...]

    @abstractmethod
    def error(self, exc: BaseException, doing: str) -> StateError:
        """``exc`` (one of :attr:`errors`) as a StateError; ``doing`` says what failed."""

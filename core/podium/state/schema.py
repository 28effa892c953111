"""The SQLite state schema and its ordered migrations.

``PRAGMA user_version`` holds the schema version: the number of migrations
applied. A migration is a function of one connection run inside the opener's
``BEGIN IMMEDIATE`` transaction, together with the version bump, so a crash
mid-migration leaves the database at the old version, unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from podium.errors import StateError

Migration = Callable[[sqlite3.Connection], None]


def _v1_initial(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE records (
            uid TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            provider TEXT NOT NULL,
            plugin TEXT NOT NULL,
            physical_name TEXT,
            spec TEXT NOT NULL,
            spec_hash TEXT NOT NULL,
            outputs TEXT NOT NULL,
            depends_on TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )"""
    )
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO meta (key, value) VALUES ('serial', 0)")
    db.execute(
        """CREATE TABLE intents (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            node TEXT NOT NULL,
            action TEXT NOT NULL,
            spec TEXT NOT NULL,
            run_id TEXT NOT NULL,
            started_at TEXT NOT NULL,
            completed_at TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE generated (
            node TEXT NOT NULL,
            key TEXT NOT NULL,
            token TEXT NOT NULL,
            PRIMARY KEY (node, key)
        )"""
    )
    db.execute(
        """CREATE TABLE lock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            owner TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            run_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            acquired_at REAL NOT NULL,
            expires_at REAL NOT NULL
        )"""
    )
    db.execute("CREATE TABLE history (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL)")
    db.execute(
        """CREATE TABLE releases (
            workload TEXT NOT NULL,
            number INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (workload, number)
        )"""
    )


def _v2_pending_intent_index(db: sqlite3.Connection) -> None:
    # Recovery reads only the pending intents; a partial index keeps that cheap
    # however long the journal of completed intents grows.
    db.execute(
        "CREATE INDEX intents_pending ON intents (id) WHERE completed_at IS NULL",
    )
    db.execute("CREATE INDEX intents_completed_at ON intents (completed_at)")


def _v3_record_owner(db: sqlite3.Connection) -> None:
    # Who owns each node (podium.identity). Records written before stay NULL: the
    # first plan whose Score files include them adopts them (podium.engine.ownership).
    db.execute("ALTER TABLE records ADD COLUMN owner TEXT")


def _v4_lease_fencing(db: sqlite3.Connection) -> None:
    # The fencing epoch (podium.state.sql.store): one above every lease granted so far.
    # The lease records it with the holder's boot id and PID namespace (podium.state.lease).
    db.execute("INSERT INTO meta (key, value) VALUES ('epoch', 0)")
    db.execute("ALTER TABLE lock ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE lock ADD COLUMN boot_id TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE lock ADD COLUMN pid_namespace TEXT NOT NULL DEFAULT ''")


def _v5_record_bookkeeping(db: sqlite3.Connection) -> None:
    # The engine's bookkeeping (digest, failed release...) moves out of ``spec`` into its
    # own column: inside the spec, a param of the same name was taken for bookkeeping.
    from podium.platform.contract import ResourceRecord
    from podium.state.rows import dumps

    db.execute("ALTER TABLE records ADD COLUMN bookkeeping TEXT NOT NULL DEFAULT '{}'")
    for uid, spec in db.execute("SELECT uid, spec FROM records").fetchall():
        record = ResourceRecord(uid, "", "", "", json.loads(spec), "")
        if record.bookkeeping():
            db.execute(
                "UPDATE records SET spec = ?, bookkeeping = ? WHERE uid = ?",
                (dumps(record.spec), dumps(record.bookkeeping()), uid),
            )


def _v6_audit_chain(db: sqlite3.Connection) -> None:
    # History becomes the append-only, hash-chained audit trail. The entries written
    # before are sealed into the chain here, oldest first (origin "migration"): from now
    # on an edit or a deletion of any of them is found by 'podium audit verify'. The
    # triggers refuse UPDATE and DELETE; someone who drops them is caught by the chain.
    from podium.state.audit_migration import (
        HISTORY_APPEND_ONLY,
        audit_column_definitions,
        seal_history,
    )
    from podium.state.rows import now_iso

    for column in audit_column_definitions("INTEGER"):
        db.execute(f"ALTER TABLE history ADD COLUMN {column}")
    db.execute(
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            audit_seq INTEGER NOT NULL,
            audit_hash TEXT NOT NULL
        )"""
    )
    rows = db.execute("SELECT id, data FROM history ORDER BY id").fetchall()
    sealed = seal_history(rows, now_iso())
    db.executemany(sealed.statement, sealed.rows)
    db.execute(
        "INSERT INTO audit_head (id, audit_seq, audit_hash) VALUES (1, ?, ?)",
        (sealed.head.seq, sealed.head.hash),
    )
    db.execute("CREATE UNIQUE INDEX history_seq ON history (seq)")
    db.execute("CREATE INDEX history_entry ON history (entry_id, seq)")
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER history_append_only_{event.lower()} BEFORE {event} ON history
            BEGIN SELECT RAISE(ABORT, '{HISTORY_APPEND_ONLY}'); END"""
        )


#: Ordered: index ``i`` migrates from version ``i`` to ``i + 1``. Only ever append.
MIGRATIONS: tuple[Migration, ...] = (
    _v1_initial,
    _v2_pending_intent_index,
    _v3_record_owner,
    _v4_lease_fencing,
    _v5_record_bookkeeping,
    _v6_audit_chain,
)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: Path) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; return the version it had before.

    ``db`` must be in autocommit mode. Runs in one write transaction, so several
    processes opening a new database at once migrate it exactly once.
    """
    version = _user_version(db)
    if version == SCHEMA_VERSION:
        return version
    _refuse_newer(version, path)
    db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated meanwhile.
        version = _user_version(db)
        _refuse_newer(version, path)
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return version


def _user_version(db: sqlite3.Connection) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StateError(
            f"state database {path} has schema version {version}, written by a newer Podium; "
            f"this Podium understands versions up to {SCHEMA_VERSION}",
            hint="upgrade Podium to work with this state",
        )

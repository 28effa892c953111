"""The audit-chain migration's shared part (podium.state.audit_migration), which the
SQLite schema and podium-postgres both run with their own SQL dialect."""

from __future__ import annotations

import sqlite3

from podium.state.audit_chain import AUDIT_COLUMNS, GENESIS_HASH, record_from_row, verify_chain
from podium.state.audit_migration import audit_column_definitions, seal_history


def test_the_migration_adds_every_column_of_a_record_but_id_and_data() -> None:
    added = [definition.split()[0] for definition in audit_column_definitions()]
    assert sorted(added) == sorted(set(AUDIT_COLUMNS) - {"id", "data"})
    assert audit_column_definitions("BIGINT")[:2] == ("seq BIGINT", "entry_id BIGINT")


def test_sealing_writes_a_chain_that_verifies() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE history (id INTEGER PRIMARY KEY, data TEXT NOT NULL)")
    for column in audit_column_definitions():
        db.execute(f"ALTER TABLE history ADD COLUMN {column}")
    entries = [(3, '{"action": "apply"}'), (7, '{"action": "destroy"}')]
    db.executemany("INSERT INTO history (id, data) VALUES (?, ?)", entries)
    sealed = seal_history(db.execute("SELECT id, data FROM history ORDER BY id"), "t0")
    db.executemany(sealed.statement, sealed.rows)
    records = [
        record_from_row(row)
        for row in db.execute(f"SELECT {', '.join(AUDIT_COLUMNS)} FROM history ORDER BY seq")
    ]
    assert [(r.seq, r.id, r.origin) for r in records] == [(1, 3, "migration"), (2, 7, "migration")]
    assert (sealed.head.seq, sealed.head.hash) == (2, records[-1].hash)
    assert verify_chain(records, sealed.head).ok


def test_sealing_nothing_leaves_the_genesis_head() -> None:
    sealed = seal_history([], "t0", table="{schema}.history", param="%s")
    assert sealed.rows == [] and (sealed.head.seq, sealed.head.hash) == (0, GENESIS_HASH)
    assert sealed.statement.startswith("UPDATE {schema}.history SET seq = %s, entry_id = %s")
    assert sealed.statement.endswith(" WHERE id = %s")

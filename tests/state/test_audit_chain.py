"""History is an append-only, hash-chained audit trail (issue 19 item 4), on SQLite.

Each test tampers with the database the way someone with file access would (raw SQL,
triggers dropped first) and checks that verification names the first bad record.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from podium.engine.audit_trail import verify
from podium.errors import NotFoundError
from podium.state.audit_chain import (
    GENESIS_HASH,
    MIGRATED,
    AuditHead,
    canonical_json,
    record_hash,
)
from podium.state.schema import MIGRATIONS, SCHEMA_VERSION
from podium.state.sqlite import SqliteStateStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStateStore]:
    opened = SqliteStateStore(tmp_path / "state.db", where="shop/dev")
    yield opened
    opened.close()


def raw(path: Path) -> sqlite3.Connection:
    """A connection of someone editing the file by hand, append-only triggers dropped."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS history_append_only_update")
    db.execute("DROP TRIGGER IF EXISTS history_append_only_delete")
    return db


def a_run(store: SqliteStateStore, who: str = "alice") -> int:
    entry = {"operation": "apply", "who": who, "status": "running", "workloads": ["web"]}
    entry_id = store.add_history({**entry, "plan_digest": "ab" * 32})
    store.update_history(entry_id, {**entry, "status": "succeeded", "plan_digest": "ab" * 32})
    return entry_id


def test_a_run_is_two_chained_records_and_history_shows_its_outcome(
    store: SqliteStateStore,
) -> None:
    run = a_run(store)
    store.add_history({"operation": "secrets set", "who": "bob", "status": "succeeded"})
    [secret, shown] = store.history()
    assert shown["id"] == run and shown["status"] == "succeeded"
    assert secret["operation"] == "secrets set"
    start, outcome, last = store.audit_records()
    assert [r.seq for r in (start, outcome, last)] == [1, 2, 3]
    assert start.prev_hash == GENESIS_HASH and outcome.prev_hash == start.hash
    assert last.prev_hash == outcome.hash and store.audit_head() == AuditHead(3, last.hash)
    assert outcome.entry_id == start.id == run and outcome.is_outcome and not start.is_outcome
    assert (start.who, start.what, start.result, start.decision) == (
        "alice",
        "apply web",
        "running",
        "allowed",
    )
    assert outcome.result == "succeeded" and outcome.plan_digest == "ab" * 32
    assert verify(store, "dev").ok


def test_the_hash_is_sha256_of_rfc8785_content_and_the_previous_hash(
    store: SqliteStateStore,
) -> None:
    import hashlib

    store.add_history(
        {"operation": "apply", "who": "alice", "status": "blocked", "reason": "policy"}
    )
    [record] = store.audit_records()
    assert record.decision == "blocked (policy)"
    content = {
        "v": 1,
        "seq": 1,
        "id": record.id,
        "entry_id": record.id,
        "origin": "append",
        "who": "alice",
        "what": "apply",
        "recorded_at": record.recorded_at,
        "plan_digest": "",
        "result": "blocked",
        "decision": "blocked (policy)",
        "data": json.loads(record.data),
        "prev": GENESIS_HASH,
    }
    assert record.hash == hashlib.sha256(canonical_json(content)).hexdigest()


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [True, None, "x"], "é": "naïve \u2028 \x7f", "ctl": '\x00\x1f\n"\\'},
        {"\U0001f600": 1, "\ufb01": 2, "z": {"y": [], "x": {}}},  # UTF-16 key order
        {"floats": [1.0, 0.5, 1e-7, 1e21, 123456789.125, -0.0], "int": 2**60},
        {"seconds": 1.234, "counts": [2.0, -0.0, 0.0001, 1e15], "f": 0.1 + 0.2},  # fast path
        ["lone \ud800 surrogate", float("nan"), float("inf")],
    ],
)
def test_canonical_json_is_rfc8785_on_both_paths(value: object) -> None:
    """The fast path (the json module) and rfc8785's own writer give the same bytes."""
    import rfc8785

    from podium.state.audit_chain import _representable

    exact = [True]
    shaped = _representable(value, exact)
    assert canonical_json(value) == rfc8785.dumps(shaped)


def test_updates_and_deletes_are_refused_by_the_database(store: SqliteStateStore) -> None:
    a_run(store)
    db = sqlite3.connect(store.path)
    try:
        for statement in ("UPDATE history SET data = '{}'", "DELETE FROM history"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(statement)
    finally:
        db.close()
    assert verify(store, "dev").ok


def test_an_edited_entry_is_found(store: SqliteStateStore) -> None:
    first = a_run(store)
    a_run(store, who="bob")
    db = raw(store.path)
    data = json.loads(db.execute("SELECT data FROM history WHERE id = ?", (first,)).fetchone()[0])
    db.execute(
        "UPDATE history SET data = ? WHERE id = ?",
        (json.dumps({**data, "who": "mallory"}), first),
    )
    verdict = verify(store, "dev")
    assert not verdict.ok and verdict.first_bad_seq == 1 and verdict.first_bad_id == first
    assert "does not match its hash" in verdict.problem
    assert verdict.records == 0


def test_an_edited_fact_column_is_found(store: SqliteStateStore) -> None:
    a_run(store)
    raw(store.path).execute("UPDATE history SET result = 'failed' WHERE seq = 2")
    verdict = verify(store, "dev")
    assert not verdict.ok and verdict.first_bad_seq == 2 and verdict.records == 1


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(store: SqliteStateStore) -> None:
    a_run(store)
    a_run(store)
    db = raw(store.path)
    [record] = [r for r in store.audit_records() if r.seq == 2]
    forged = {**json.loads(record.data), "status": "failed"}
    from dataclasses import replace

    from podium.state.audit_chain import facts_of

    facts = replace(facts_of(forged, record.recorded_at))
    data = json.dumps(forged)
    digest = record_hash(
        seq=2,
        id=record.id,
        entry_id=record.entry_id,
        origin=record.origin,
        facts=facts,
        data=data,
        prev_hash=record.prev_hash,
    )
    db.execute(
        "UPDATE history SET data = ?, result = ?, hash = ? WHERE seq = 2", (data, "failed", digest)
    )
    verdict = verify(store, "dev")
    assert not verdict.ok and verdict.first_bad_seq == 3
    assert "previous-hash does not match" in verdict.problem


def test_a_deleted_entry_is_found(store: SqliteStateStore) -> None:
    for _ in range(3):
        a_run(store)
    raw(store.path).execute("DELETE FROM history WHERE seq = 3")
    verdict = verify(store, "dev")
    assert not verdict.ok and verdict.first_bad_seq == 3 and verdict.records == 2
    assert "record 3 is missing" in verdict.problem


def test_deleting_the_newest_entries_is_found(store: SqliteStateStore) -> None:
    for _ in range(2):
        a_run(store)
    raw(store.path).execute("DELETE FROM history WHERE seq > 2")
    verdict = verify(store, "dev")
    assert not verdict.ok and verdict.first_bad_seq == 3
    assert "newest records were deleted" in verdict.problem


def test_an_outcome_for_a_missing_entry_is_refused(store: SqliteStateStore) -> None:
    with pytest.raises(NotFoundError):
        store.update_history(12345, {"status": "x"})
    assert store.audit_records() == []


def test_entries_written_before_the_chain_are_sealed_by_the_migration(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(path, isolation_level=None)
    for step in MIGRATIONS[: SCHEMA_VERSION - 1]:  # a state written before the chain
        step(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    old = [
        {"operation": "apply", "who": "alice", "status": "succeeded", "workloads": ["web"]},
        {"operation": "secrets set", "who": "bob", "status": "succeeded"},
    ]
    for entry in old:
        db.execute("INSERT INTO history (data) VALUES (?)", (json.dumps(entry),))
    db.close()

    store = SqliteStateStore(path)
    try:
        assert [{k: v for k, v in e.items() if k != "id"} for e in store.history()] == old[::-1]
        sealed = store.audit_records()
        assert [r.origin for r in sealed] == [MIGRATED, MIGRATED]
        assert [r.who for r in sealed] == ["alice", "bob"]
        assert verify(store, "dev").ok
        a_run(store)  # new records chain on
        assert store.audit_records()[2].prev_hash == sealed[1].hash
        assert verify(store, "dev").records == 4
        raw(path).execute("UPDATE history SET data = '{}' WHERE seq = 1")
        assert verify(store, "dev").first_bad_seq == 1
    finally:
        store.close()


def _append_many(path: str, who: str, count: int) -> None:
    store = SqliteStateStore(path)
    try:
        for _ in range(count):
            entry_id = store.add_history({"operation": "apply", "who": who, "status": "running"})
            store.update_history(entry_id, {"operation": "apply", "who": who, "status": "ok"})
    finally:
        store.close()


def test_concurrent_writers_never_fork_the_chain(store: SqliteStateStore) -> None:
    """Threads of one process and other processes append to one chain at once."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_append_many, args=(str(store.path), f"p{i}", 15)) for i in range(2)
    ]
    threads = [
        threading.Thread(target=_append_many, args=(str(store.path), f"t{i}", 15)) for i in range(3)
    ]
    for worker in [*processes, *threads]:
        worker.start()
    for thread in threads:
        thread.join()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    records = store.audit_records(limit=1000)
    assert [r.seq for r in records] == list(range(1, 151))
    verdict = verify(store, "dev")
    assert verdict.ok and verdict.records == 150
    assert len(store.history(1000)) == 75
    assert all(e["status"] == "ok" for e in store.history(1000))


def test_a_store_without_a_chain_is_refused_not_vouched_for(store: SqliteStateStore) -> None:
    from podium.errors import StateError

    store.audit_chained = False  # as a SQL dialect written before the chain
    with pytest.raises(StateError, match="cannot be verified"):
        verify(store, "dev")


def test_canonical_json_masks_secrets_as_a_plan_file_does() -> None:
    """The plan digest hashes the plan as its file would show it: secrets masked."""
    from podium.security.secret import REDACTED, Secret

    sealed = {"params": {"password": Secret("hunter2"), "user": "app"}, "n": [Secret("x")]}
    shown = {"params": {"password": REDACTED, "user": "app"}, "n": [REDACTED]}
    assert canonical_json(sealed) == canonical_json(shown)
    assert b"hunter2" not in canonical_json(sealed)
